"""Checking a custom environment before training, with a report a person can act on.

Gymnasium's ``check_env`` stops at the first failed assertion and prints
warnings to stderr; :func:`check` collects both plus gymsuite's own checks
(finite rewards, observations inside their space over a short random rollout,
the 5-tuple step API, rgb_array rendering when asked) into one report.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils.env_checker import check_env as gym_check_env

from gymsuite.common.errors import UserError
from gymsuite.envs.factory import EnvSpec, make_one, spec_name


@dataclass
class CheckReport:
    """Problems (training cannot work) and warnings (it may, but look) found in an env."""

    env: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        head = f"environment {self.env}: " + ("passed its check" if self.ok else "failed its check")
        lines = [head] + [f"  error: {p}" for p in self.problems] + [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def check(spec: EnvSpec, env_kwargs: dict[str, Any] | None = None, steps: int = 200,
          render: bool = False) -> CheckReport:
    """Build ``spec`` and run every check; never raises for a broken env (the report says what broke).

    A PettingZoo env gets PettingZoo's API test and gymsuite's multi-agent checks
    (:func:`gymsuite.envs.multiagent.check.check_multiagent`) instead.
    """
    source = _multiagent(spec)
    if source is not None:
        from gymsuite.envs.multiagent.check import check_multiagent

        return check_multiagent(source, env_kwargs, steps)
    report = CheckReport(spec_name(spec))
    try:
        env = make_one(spec, render_mode="rgb_array" if render else None, env_kwargs=env_kwargs)
    except UserError:
        raise
    except Exception as err:  # the user's constructor crashed
        report.problems.append(f"constructing it raised {type(err).__name__}: {err}")
        return report
    try:
        _check_spaces(env, report)
        if report.ok:  # ours first: its messages are plainer than the checker's (NaN != NaN fails "determinism")
            _rollout(env, report, steps)
        if report.ok:
            _gymnasium_checker(env, report)
        if report.ok and render:
            _check_render(env, report)
    finally:
        try:
            env.close()
        except Exception as err:  # reported, not fatal
            report.warnings.append(f"close() raised {type(err).__name__}: {err}")
    return report


def require_valid(spec: EnvSpec, env_kwargs: dict[str, Any] | None = None) -> CheckReport:
    """Run :func:`check` and raise a :class:`UserError` holding the report when it failed."""
    report = check(spec, env_kwargs)
    if not report.ok:
        raise UserError(report.text(), "fix the environment (or pass --no-check to train anyway)")
    return report


def require_fitting_shapes(spec: EnvSpec, env_kwargs: dict[str, Any] | None = None) -> None:
    """What ``--no-check`` still checks: ``reset()`` returns observations of the shape the space declares.

    SB3 sizes its buffers from ``observation_space``, so an env whose observations have another
    shape crashes on its first step, after the run directory exists.

    Raises:
        UserError: the first observation does not have the declared shape.
    """
    source = _multiagent(spec)
    if source is not None:  # the bridge compares each agent's observation with its space as it writes it
        if not source.turn_based:
            from gymsuite.envs.multiagent.bridge import ParallelVecEnv

            ParallelVecEnv([source.make_parallel(**(env_kwargs or {}))], name=spec_name(spec)).reset()
        return
    env = make_one(spec, env_kwargs=env_kwargs)
    try:
        obs, _ = env.reset(seed=0)
        wrong = _shape_mismatch(env.observation_space, obs, "observation")
    finally:
        env.close()
    if wrong:
        raise UserError(f"{spec_name(spec)} lies about its observation space: {wrong}",
                        "make observation_space match what reset() and step() return "
                        "(check_env.py reports everything; drop --no-check to check before training)")


def _multiagent(spec: EnvSpec) -> Any:
    """``spec``'s :class:`gymsuite.envs.multiagent.MultiAgentSource`, or None (imported here: gymsuite.envs.multiagent
    builds on this
    module)."""
    from gymsuite.envs.multiagent.source import multiagent_source

    return multiagent_source(spec)


def _shape_mismatch(space: gym.spaces.Space, obs: Any, where: str) -> str | None:
    """Where ``obs`` does not have the shape ``space`` declares (bounds and dtypes are the full check's)."""
    if isinstance(space, gym.spaces.Dict):
        if not isinstance(obs, dict) or set(obs) != set(space.spaces):
            return f"{where} has keys {sorted(obs) if isinstance(obs, dict) else type(obs).__name__}, " \
                   f"the space {sorted(space.spaces)}"
        return next(filter(None, (_shape_mismatch(sub, obs[k], f"{where}[{k!r}]")
                                  for k, sub in space.spaces.items())), None)
    if isinstance(space, gym.spaces.Box | gym.spaces.MultiBinary | gym.spaces.MultiDiscrete | gym.spaces.Discrete):
        shape = np.shape(obs)
        if shape != space.shape:
            return f"{where} has shape {shape}, but the space declares {space.shape}"
    return None


# Observation spaces SB3 cannot build a policy for, wherever they appear.
_UNTRAINABLE = (gym.spaces.Text, gym.spaces.Graph, gym.spaces.Sequence, gym.spaces.OneOf)
UNTRAINABLE_FIX = ("wrap the env so that it observes arrays only: for minigrid, ImgObsWrapper (the image) or "
                   "FlatObsWrapper (image and mission as numbers); otherwise drop the key with "
                   "gymnasium.wrappers.FilterObservation(env, [keys to keep]) or encode it as a Box; "
                   "pass the wrapped env as file.py:make_env, a function returning it")


def untrainable_parts(space: gym.spaces.Space, where: str = "observation") -> list[str]:
    """The parts of an observation space SB3 cannot train on, e.g. ``["observation['mission'] is Text"]``.

    SB3 takes Box, Discrete, MultiDiscrete, MultiBinary, or a flat Dict of them.
    """
    if isinstance(space, _UNTRAINABLE):
        return [f"{where} is {type(space).__name__}"]
    if isinstance(space, gym.spaces.Tuple):
        inner = [p for i, sub in enumerate(space.spaces) for p in untrainable_parts(sub, f"{where}[{i}]")]
        return [f"{where} is a Tuple (use a Dict)", *inner]
    if isinstance(space, gym.spaces.Dict):
        found = []
        for key, sub in space.spaces.items():
            if isinstance(sub, gym.spaces.Dict):
                found.append(f"{where}[{key!r}] is a Dict inside a Dict (flatten it)")
            found += untrainable_parts(sub, f"{where}[{key!r}]") if not isinstance(sub, gym.spaces.Dict) else []
        return found
    return []


def _check_spaces(env: gym.Env, report: CheckReport) -> None:
    for name in ("observation_space", "action_space"):
        space = getattr(env, name, None)
        if not isinstance(space, gym.spaces.Space):
            report.problems.append(f"{name} is {space!r}; set it to a gymnasium.spaces.Space in __init__")
    parts = untrainable_parts(env.observation_space) if report.ok else []
    if parts:
        report.problems.append(f"training cannot handle {'; '.join(parts)}. Fix: {UNTRAINABLE_FIX}")


def _gymnasium_checker(env: gym.Env, report: CheckReport) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            gym_check_env(env.unwrapped, skip_render_check=True)
        except Exception as err:  # the checker's assertions and the env's own crashes
            report.problems.append(f"gymnasium's checker: {type(err).__name__}: {err}")
    for w in caught:
        report.warnings.append(str(w.message).removeprefix("\x1b[33mWARN: ").removesuffix("\x1b[0m"))


def _rollout(env: gym.Env, report: CheckReport, steps: int) -> None:
    """Random actions for ``steps`` steps: 5-tuples, finite rewards, observations in their space."""
    try:
        obs, _ = env.reset(seed=0)
        for t in range(steps):
            result = env.step(env.action_space.sample())
            if not isinstance(result, tuple) or len(result) != 5:
                n = len(result) if isinstance(result, tuple) else type(result).__name__
                report.problems.append(f"step() returned {n} values; gymnasium expects "
                                       "(obs, reward, terminated, truncated, info)")
                return
            obs, reward, terminated, truncated, _ = result
            if not isinstance(reward, int | float | np.integer | np.floating) or not np.isfinite(reward):
                report.problems.append(f"step {t}: reward {reward!r} is not a finite number")
                return
            if not env.observation_space.contains(obs):
                report.problems.append(f"step {t}: observation {np.asarray(obs)!r} is outside observation_space "
                                       f"{env.observation_space} (check dtype, shape and bounds)")
                return
            if terminated or truncated:
                obs, _ = env.reset()
    except Exception as err:
        report.problems.append(f"a random rollout crashed: {type(err).__name__}: {err}")


def _check_render(env: gym.Env, report: CheckReport) -> None:
    try:
        env.reset(seed=0)
        frame = env.render()
    except Exception as err:
        report.problems.append(f"render() raised {type(err).__name__}: {err}")
        return
    if not (isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3):
        report.problems.append("render() with render_mode='rgb_array' must return an (H, W, 3) uint8 array")
