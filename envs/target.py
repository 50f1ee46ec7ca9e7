"""An env spec resolved once: what kind of env it names, and the facts the rest of gymsuite asks about it.

:func:`resolve_env` is the one caller of the classifying rules (:func:`gymsuite.envs.atari.is_atari`,
:func:`gymsuite.envs.minigrid.is_minigrid`, :func:`gymsuite.envs.multiagent.source.multiagent_source`);
everything above it asks the :class:`EnvTarget` (``target.kind is EnvKind.TURN_BASED``, ``target.time_limit``)
instead of classifying the string again.
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
from gymsuite.envs.minigrid import is_minigrid
from gymsuite.envs.multiagent.source import MultiAgentSource, looks_like_module, multiagent_source
from gymsuite.envs.specs import EnvSpec, import_registering, is_custom, load_file, load_module, spec_name


class EnvKind(enum.Enum):
    """What an env spec names; each kind is built its own way (:func:`gymsuite.envs.factory.make_env`)."""

    REGISTERED = "registered"  # a Gymnasium id ("CartPole-v1"), its package imported by prefix or namespace
    ATARI = "atari"  # ALE/Game-v5 or GameNoFrameskip-v4: gymsuite's Atari preprocessing
    MINIGRID = "minigrid"  # a MiniGrid or BabyAI id (minigrid:MiniGrid-... too): MiniGrid's observation wrappers
    CUSTOM = "custom"  # module:Class, file.py:Class, module:Env-id, or a callable
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
    """

    spec: EnvSpec = field(repr=False)
    name: str
    kind: EnvKind
    time_limit: int | None = None
    source: MultiAgentSource | None = field(default=None, repr=False)

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
    return EnvTarget(spec, spec_name(spec), EnvKind.CUSTOM)


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
    if is_custom(spec):
        if strict:
            _require_attribute(spec)
        return EnvTarget(spec, spec, EnvKind.MINIGRID if is_minigrid(spec) else EnvKind.CUSTOM)
    kind = EnvKind.ATARI if is_atari(spec) else EnvKind.MINIGRID if is_minigrid(spec) else EnvKind.REGISTERED
    try:
        time_limit = _time_limit(spec)
    except UserError:
        if strict:
            raise
        time_limit = None
    return EnvTarget(spec, spec, kind, time_limit)


def _time_limit(env_id: str) -> int | None:
    """The time limit ``env_id``'s registration sets (its package imported first), or None."""
    if looks_like_module(env_id):
        return None
    if env_id not in gym.registry:
        import_registering(env_id)  # raises for an unknown id
    registered = gym.registry.get(env_id)
    return None if registered is None else registered.max_episode_steps


def _require_attribute(spec: str) -> None:
    """``module:attr`` / ``file.py:attr``: the module imports and has ``attr`` (or registered the id ``attr``)."""
    target, _, attr = spec.rpartition(":")
    module = load_file(target) if target.endswith(".py") or "/" in target else load_module(target)
    if hasattr(module, attr) or attr in gym.registry:
        return
    names = [n for n, v in vars(module).items() if inspect.isclass(v) and issubclass(v, gym.Env)]
    raise UserError(
        f"{target!r} has no attribute {attr!r}",
        f"environment classes found there: {', '.join(names)}" if names else "check the class name",
    )
