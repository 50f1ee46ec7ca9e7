"""Which env specs are PettingZoo (multi-agent) envs, and how to build them in parallel or AEC form.

A multi-agent spec is one of
  * a dotted module path that imports and defines ``parallel_env`` and/or ``env`` (PettingZoo's module
    layout): ``"mpe2.simple_spread_v3"``, ``"pettingzoo.butterfly.pistonball_v6"``,
    ``"pettingzoo.classic.tictactoe_v3"``;
  * ``"package.module:function"`` or ``"path/to/file.py:function"`` (or ``:Class``) whose result is a
    PettingZoo ``ParallelEnv`` or ``AECEnv``: a PettingZoo class, a function annotated to return one, or an
    unannotated function from a module that uses PettingZoo (``pettingzoo``, ``mpe2``, ``supersuit``, ...),
    which is built once, without arguments, to see what it returns.

Turn-based rule (:attr:`MultiAgentSource.turn_based`): a spec is turn-based exactly when it has no
parallel form: it gives only an AEC env, and that env's ``metadata["is_parallelizable"]`` is not true
(PettingZoo's own flag: ``aec_to_parallel`` refuses such envs, because their agents do not all move in one
cycle). Every ``pettingzoo.classic`` game is such an env; their observations carry ``"action_mask"``.
An AEC env that declares ``is_parallelizable`` becomes parallel through ``aec_to_parallel``.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
from pettingzoo.utils.conversions import aec_to_parallel, parallel_to_aec
from pettingzoo.utils.env import AECEnv, ParallelEnv

from gymsuite.common.errors import UserError
from gymsuite.envs.specs import load_file, load_module

EnvMaker = Callable[..., Any]  # (render_mode=None, **env_kwargs) -> ParallelEnv | AECEnv

_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")
# Modules that moved out of PettingZoo, and where they went.
_MOVED = {"pettingzoo.mpe": ("the mpe2 package", "mpe2"), "pettingzoo.sisl": ("the sisl package", "sisl")}
_PIP = {"mpe2": "mpe2", "pettingzoo": "pettingzoo", "pymunk": "'pettingzoo[butterfly]'",
        "pygame": "pygame", "chess": "'pettingzoo[classic]'", "rlcard": "'pettingzoo[classic]'"}


@dataclass(frozen=True)
class MultiAgentSource:
    """A PettingZoo env spec and how to build it.

    Attributes:
        name: the spec as the user wrote it.
        turn_based: an AEC game whose agents move one at a time (no parallel form; see the module docstring).
    """

    name: str
    turn_based: bool
    parallel_maker: EnvMaker | None = field(default=None, repr=False)
    aec_maker: EnvMaker | None = field(default=None, repr=False)

    def make_parallel(self, render_mode: str | None = None, **env_kwargs: Any) -> ParallelEnv:
        """A new ``ParallelEnv`` (an AEC env that declares ``is_parallelizable`` goes through ``aec_to_parallel``).

        Raises:
            UserError: a turn-based game (it has no parallel form), or the env rejects ``env_kwargs``.
        """
        if self.parallel_maker is not None:
            return _build(self.parallel_maker, self.name, render_mode, env_kwargs)
        if self.turn_based:
            raise UserError(f"{self.name} is a turn-based game: its agents move one at a time, so it has no "
                            "parallel form", "train it with --algo selfplay")
        assert self.aec_maker is not None
        return aec_to_parallel(_build(self.aec_maker, self.name, render_mode, env_kwargs))

    def make_aec(self, render_mode: str | None = None, **env_kwargs: Any) -> AECEnv:
        """A new ``AECEnv`` (a parallel-only env goes through ``parallel_to_aec``)."""
        if self.aec_maker is not None:
            return _build(self.aec_maker, self.name, render_mode, env_kwargs)
        assert self.parallel_maker is not None
        return parallel_to_aec(_build(self.parallel_maker, self.name, render_mode, env_kwargs))


def looks_like_module(spec: Any) -> bool:
    """A dotted module path (``"mpe2.simple_spread_v3"``) that is not a registered Gymnasium id."""
    return isinstance(spec, str) and bool(_DOTTED.fullmatch(spec)) and spec not in gym.registry


def multiagent_source(spec: Any) -> MultiAgentSource | None:
    """The :class:`MultiAgentSource` of ``spec``, or None when it is not a multi-agent spec.

    Raises:
        UserError: a dotted module path that cannot be imported (the package to install, or where a moved
            module went, e.g. ``pettingzoo.mpe`` -> ``mpe2``), or that defines neither ``env`` nor ``parallel_env``.
    """
    if not isinstance(spec, str):
        return None
    return _source(spec)


@functools.lru_cache(maxsize=64)
def _source(spec: str) -> MultiAgentSource | None:
    if looks_like_module(spec):
        return _module_source(spec)
    if ":" not in spec:
        return None
    target, _, attr = spec.rpartition(":")
    if not target or not attr.isidentifier():
        return None
    module = load_file(target) if target.endswith(".py") or "/" in target else load_module(target)
    obj = getattr(module, attr, None)
    if obj is None or not callable(obj):
        return None
    return _callable_source(spec, obj)


def _module_source(spec: str) -> MultiAgentSource:
    module = _import_module(spec)
    parallel = getattr(module, "parallel_env", None)
    aec = getattr(module, "env", None)
    if not callable(parallel) and not callable(aec):
        raise UserError(f"module {spec!r} defines neither env() nor parallel_env(), so it is not a PettingZoo env",
                        "give a PettingZoo env module (e.g. mpe2.simple_spread_v3), or a gymnasium env as "
                        "module:Class")
    if callable(parallel):
        return MultiAgentSource(spec, False, parallel, aec if callable(aec) else None)
    raw = getattr(module, "raw_env", None)
    metadata = getattr(raw, "metadata", None) if inspect.isclass(raw) else None
    if not isinstance(metadata, dict):  # ask a built env
        assert callable(aec)
        env = _build(aec, spec, None, {})
        metadata = dict(getattr(env, "metadata", {}) or {})
        env.close()
    return MultiAgentSource(spec, not metadata.get("is_parallelizable", False), None, aec)


def _import_module(spec: str) -> Any:
    """Import a PettingZoo env module, naming the package to install (or where a moved module went) when missing."""
    try:
        return importlib.import_module(spec)
    except ImportError as err:  # pettingzoo.mpe raises a plain ImportError that says where it went
        for old, (where, package) in _MOVED.items():
            if spec.startswith(old + "."):
                raise UserError(f"{spec} is gone from PettingZoo: it moved to {where}",
                                f"pip install {package}, then use --env {package}.{spec.removeprefix(old + '.')}"
                                ) from err
        missing = getattr(err, "name", None) or ""
        if not isinstance(err, ModuleNotFoundError) or not missing:
            raise UserError(f"importing {spec} failed: {err}", f"check that it imports: python -c 'import {spec}'"
                            ) from err
        top = missing.split(".")[0]
        if "." in missing and (spec + ".").startswith(missing + "."):  # the package is there, not this module
            raise UserError(f"cannot import module {spec!r}: there is no {missing}",
                            "check the spelling (PettingZoo modules end in a version, e.g. pistonball_v6)") from err
        raise UserError(f"cannot import {spec}: the package {top} is not installed",
                        f"pip install {_PIP.get(top, top)}") from err


def _callable_source(spec: str, obj: Callable[..., Any]) -> MultiAgentSource | None:
    """Classify ``module:function``: a PettingZoo class or annotation decides at once, else one probe build."""
    kind = _declared_kind(obj)
    if kind is None:
        if inspect.isclass(obj) or not _uses_pettingzoo(obj):
            return None  # a gymnasium.Env class, or a function whose module never touches PettingZoo: not ours
        try:
            probe = obj()
        except Exception:  # needs arguments, or fails: leave it to the single-agent path and its errors
            return None
        kind = "parallel" if isinstance(probe, ParallelEnv) else "aec" if isinstance(probe, AECEnv) else None
        _close(probe)
        if kind is None:
            return None
    if kind == "parallel":
        return MultiAgentSource(spec, False, obj, None)
    metadata = getattr(obj, "metadata", None) if inspect.isclass(obj) else None
    if not isinstance(metadata, dict):
        env = _build(obj, spec, None, {})
        metadata = dict(getattr(env, "metadata", {}) or {})
        env.close()
    return MultiAgentSource(spec, not metadata.get("is_parallelizable", False), None, obj)


_PETTINGZOO_PACKAGES = ("pettingzoo", "mpe2", "supersuit", "sisl", "magent2", "shimmy")


def _uses_pettingzoo(obj: Callable[..., Any]) -> bool:
    """Whether the module defining ``obj`` refers to a PettingZoo package (a module, class or function of one):
    only then is an unannotated function worth one probe build."""
    module = inspect.getmodule(obj)
    for value in vars(module).values() if module is not None else ():
        name = value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", None)
        if isinstance(name, str) and name.split(".")[0] in _PETTINGZOO_PACKAGES:
            return True
    return False


def _declared_kind(obj: Callable[..., Any]) -> str | None:
    """``"parallel"``/``"aec"`` when a class or a return annotation says so, else None."""
    target: Any = obj
    if not inspect.isclass(obj):
        try:
            target = inspect.signature(obj, eval_str=True).return_annotation
        except Exception:  # noqa: BLE001 (an annotation that does not evaluate decides nothing)
            return None
    if inspect.isclass(target) and issubclass(target, ParallelEnv):
        return "parallel"
    if inspect.isclass(target) and issubclass(target, AECEnv):
        return "aec"
    return None


def _build(maker: EnvMaker, name: str, render_mode: str | None, env_kwargs: dict[str, Any]) -> Any:
    """``maker(render_mode=..., **env_kwargs)``, with a :class:`UserError` for arguments it rejects."""
    args = {"render_mode": render_mode} if render_mode is not None else {}
    try:
        return maker(**args, **env_kwargs)
    except TypeError as err:
        raise UserError(f"could not construct {name} with {env_kwargs or 'no arguments'}"
                        f"{' and render_mode=' + repr(render_mode) if render_mode else ''}: {err}",
                        "check env_kwargs") from err


def _close(env: Any) -> None:
    try:
        env.close()
    except Exception:  # noqa: BLE001 (a probe's close must not hide the classification)
        pass
