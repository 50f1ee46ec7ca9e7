"""An env spec resolved once: what kind of env it names, and the facts the rest of gymsuite asks about it.

:func:`resolve_env` is the one caller of the classifying rules (:func:`gymsuite.envs.atari.is_atari`,
:func:`gymsuite.envs.minigrid.is_minigrid` and ``is_minigrid_class``,
:func:`gymsuite.envs.multiagent.source.multiagent_source`); everything above it asks the :class:`EnvTarget`
(``target.kind is EnvKind.TURN_BASED``, ``target.env_id``, ``target.time_limit``) instead of classifying the string
again. An id is classified by the id, whatever form it is written in (``ALE/Pong-v5``, ``ale_py:ALE/Pong-v5``), and
a class by the class (MiniGrid's ``EmptyEnv`` from ``minigrid.envs`` or from a user's file), so one env is built,
checked, trained, evaluated and recorded the same way in every form.
"""

from __future__ import annotations

import enum
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from gymsuite.common.errors import UserError
from gymsuite.envs.atari import is_atari
from gymsuite.envs.minigrid import is_minigrid, is_minigrid_class
from gymsuite.envs.multiagent.source import MultiAgentSource, looks_like_module, multiagent_source
from gymsuite.envs.specs import EnvSpec, close_ids, import_registering, is_custom, load_code, spec_name


class EnvKind(enum.Enum):
    """What an env spec names; each kind is built its own way (:func:`gymsuite.envs.factory.make_env`).

    The kind belongs to the env, not to the way it is written: ``ALE/Pong-v5`` and ``ale_py:ALE/Pong-v5`` are both
    ATARI, ``MiniGrid-Empty-8x8-v0``, ``minigrid:MiniGrid-Empty-8x8-v0``, ``minigrid.envs:EmptyEnv`` and
    ``my_grid.py:EmptyEnv`` (a MiniGrid class imported there) are all MINIGRID.
    """

    REGISTERED = "registered"  # a Gymnasium id ("CartPole-v1", "package:Env-id"), its package imported first
    ATARI = "atari"  # ALE/Game-v5 or GameNoFrameskip-v4 (ale_py:... too): gymsuite's Atari preprocessing
    MINIGRID = "minigrid"  # a MiniGrid or BabyAI id or env class, in any form: MiniGrid's observation wrappers
    CUSTOM = "custom"  # module:Class, file.py:Class, or a callable: user code, checked before training
    PARALLEL = "parallel"  # a PettingZoo parallel env (or parallelisable AEC): ParallelVecEnv runs it
    TURN_BASED = "turn_based"  # a PettingZoo AEC game whose agents move one at a time


@dataclass(frozen=True)
class EnvTarget:
    """An env spec and what it was resolved to.

    Attributes:
        spec: the spec as given (a string, or a callable returning a ``gymnasium.Env``).
        name: its printable name (:func:`gymsuite.envs.specs.spec_name`).
        kind: what it names.
        time_limit: the ``max_episode_steps`` its registration sets (None: a custom or multi-agent spec, or none).
        source: how to build a multi-agent (PARALLEL or TURN_BASED) spec; None otherwise.
        env_id: the registered id the spec names (``ALE/Pong-v5`` for ``ALE/Pong-v5`` and ``ale_py:ALE/Pong-v5``);
            None for a class, a callable or a multi-agent spec.
        package: the module a ``package:Env-id`` spec imports to register ``env_id``; None otherwise.
        reward_threshold: the ``reward_threshold`` its registration sets (the return at which the task counts as
            solved), else None; :mod:`gymsuite.envs.thresholds` adds gymsuite's own for ids registered without one.
    """

    spec: EnvSpec = field(repr=False)
    name: str
    kind: EnvKind
    time_limit: int | None = None
    source: MultiAgentSource | None = field(default=None, repr=False)
    env_id: str | None = None
    package: str | None = None
    reward_threshold: float | None = None

    @property
    def user_code(self) -> bool:
        """A class or function (``module:Class``, ``file.py:function``, a Python object; PettingZoo's too), not a
        registered id in any form nor a PettingZoo module: the code gymsuite checks before training (a MiniGrid
        class included: it is checked as training sees it)."""
        return self.env_id is None and is_custom(self.spec)

    @property
    def multiagent(self) -> bool:
        """A PettingZoo env (parallel or turn-based)."""
        return self.source is not None

    @property
    def parallel(self) -> MultiAgentSource | None:
        """The source of a parallel multi-agent env (what ParallelVecEnv runs), else None."""
        return self.source if self.kind is EnvKind.PARALLEL else None

    @property
    def game(self) -> Callable[..., Any] | None:
        """The AEC factory ``(render_mode=None, **env_kwargs) -> AECEnv`` of a turn-based game, else None."""
        return self.source.make_aec if self.source is not None and self.kind is EnvKind.TURN_BASED else None


def resolve_env(spec: EnvSpec) -> EnvTarget:
    """Resolve ``spec`` once (cached per spec): its kind, registered time limit and multi-agent source.

    Raises:
        UserError: an unknown id (naming the package to install, or close matches), a module or file that does
            not import, a ``module:attr`` without that attribute, or neither a string nor a callable.
    """
    if isinstance(spec, str):
        return _resolve_string(spec, True)
    if not callable(spec):
        raise UserError(f"env {spec!r} is neither an id, a 'module:Class' string nor a callable")
    return EnvTarget(spec, spec_name(spec), _code_kind(spec))


def classify_env(spec: EnvSpec) -> EnvTarget:
    """:func:`resolve_env` for the checks of a config, which leave an env that does not exist to the step that builds
    it: an id no package registers, or a ``module:attr`` without that attribute, is classified by its form (no time
    limit). A module that does not import (or a PettingZoo module without an env) still raises.
    """
    return _resolve_string(spec, False) if isinstance(spec, str) else resolve_env(spec)


def lenient_target(spec: EnvSpec | None) -> EnvTarget | None:
    """:func:`resolve_env`, or None for no spec or one that does not resolve (for questions whose answer for a bad
    spec is "no": the step that builds it reports it, with its own error)."""
    if spec is None:
        return None
    try:
        return resolve_env(spec)
    except UserError:
        return None


@functools.lru_cache(maxsize=256)
def _resolve_string(spec: str, strict: bool) -> EnvTarget:
    source = multiagent_source(spec)
    if source is not None:
        return EnvTarget(spec, spec, EnvKind.TURN_BASED if source.turn_based else EnvKind.PARALLEL, None, source)
    package, attr = _split(spec)
    if package is not None and _names_attribute(package, attr, strict):  # module:Class, file.py:Class
        obj = getattr(load_code(package), attr, None)
        return EnvTarget(spec, spec, _code_kind(obj))
    try:  # an id, bare or package:Env-id: classified by the id alone, so every form of it is built the same way
        registered = _registration(attr, package)
    except UserError:
        if strict:
            raise
        registered = None
    time_limit, threshold = (None, None) if registered is None else (registered.max_episode_steps,
                                                                      registered.reward_threshold)
    return EnvTarget(spec, spec, _id_kind(attr), time_limit, env_id=attr, package=package,
                     reward_threshold=threshold)


def _split(spec: str) -> tuple[str | None, str]:
    """``(package, attr)`` of ``package:attr`` (a module or a ``.py`` path), ``(None, spec)`` of a bare id."""
    if not is_custom(spec):
        return None, spec
    package, _, attr = spec.rpartition(":")
    return package, attr


def _names_attribute(package: str, attr: str, strict: bool) -> bool:
    """Whether ``package:attr`` names an attribute of the module (a class or function), not an id it registers.

    An ``attr`` that is no Python name (``ALE/Pong-v5``) is an id. A name the module has is an attribute; strict
    resolution refuses a name that is neither an attribute nor a registered id (naming the classes found there).
    """
    if not attr.isidentifier():
        return False
    if hasattr(load_code(package), attr):
        return True
    if strict:
        _require_attribute(package, attr)
    return attr not in gym.registry


def _id_kind(env_id: str) -> EnvKind:
    return EnvKind.ATARI if is_atari(env_id) else EnvKind.MINIGRID if is_minigrid(env_id) else EnvKind.REGISTERED


def _code_kind(obj: object) -> EnvKind:
    """A MiniGrid env class gets MiniGrid's preprocessing like its registered ids; other code is CUSTOM."""
    return EnvKind.MINIGRID if is_minigrid_class(obj) else EnvKind.CUSTOM


def _registration(env_id: str, package: str | None = None) -> gym.envs.registration.EnvSpec | None:
    """``env_id``'s registration (``package``, else the package its name points to, imported first), or None."""
    if package is None and looks_like_module(env_id):
        return None
    if env_id not in gym.registry and package is not None:
        load_code(package)
        if env_id not in gym.registry:
            raise UserError(f"importing {package} registers no environment id {env_id!r}",
                            close_ids(env_id, otherwise="check the id, or the module that registers it (see "
                                                        "gymnasium.pprint_registry())"))
    if env_id not in gym.registry:
        import_registering(env_id)  # raises for an unknown id
    return gym.registry.get(env_id)


def _require_attribute(target: str, attr: str) -> None:
    """``module:attr`` / ``file.py:attr``: the module imports and has ``attr`` (or registered the id ``attr``)."""
    module = load_code(target)
    if hasattr(module, attr) or attr in gym.registry:
        return
    names = [n for n, v in vars(module).items() if inspect.isclass(v) and issubclass(v, gym.Env)]
    raise UserError(
        f"{target!r} has no attribute {attr!r}",
        f"environment classes found there: {', '.join(names)}" if names else "check the class name",
    )
