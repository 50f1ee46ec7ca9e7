"""Checking a custom environment before training, with a report a person can act on.

Gymnasium's ``check_env`` stops at the first failed assertion and prints
warnings to stderr; :func:`check` collects both plus gymsuite's own checks
(finite rewards, observations inside their space over a short random rollout,
the 5-tuple step API, rgb_array rendering when asked) into one report.
"""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils.env_checker import check_env as gym_check_env

from gymsuite.common.errors import UserError
from gymsuite.envs.factory import make_one
from gymsuite.envs.multiagent.bridge import ParallelVecEnv
from gymsuite.envs.multiagent.check import check_multiagent
from gymsuite.envs.observation import EnvOptions, observation_wrappers
from gymsuite.envs.report import CheckReport
from gymsuite.envs.specs import EnvSpec, describe_error, spec_name
from gymsuite.envs.target import resolve_env
from gymsuite.envs.trainable import UNTRAINABLE_FIX, untrainable_parts


def check(spec: EnvSpec, env_kwargs: dict[str, Any] | None = None, steps: int = 200,
          render: bool = False) -> CheckReport:
    """Build ``spec`` and run every check; never raises for a broken env (the report says what broke).

    A PettingZoo env gets PettingZoo's API test and gymsuite's multi-agent checks
    (:func:`gymsuite.envs.multiagent.check.check_multiagent`) instead.
    """
    source = resolve_env(spec).source
    if source is not None:
        return check_multiagent(source, env_kwargs, steps)
    report = CheckReport(spec_name(spec))
    try:
        env = _as_trained(spec, "rgb_array" if render else None, env_kwargs)
    except UserError:
        raise
    except Exception as err:  # the user's constructor crashed
        report.problems.append(f"constructing it raised {describe_error(err)}")
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
            report.warnings.append(f"close() raised {describe_error(err)}")
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
    source = resolve_env(spec).source
    if source is not None:  # the bridge compares each agent's observation with its space as it writes it
        if not source.turn_based:
            ParallelVecEnv([source.make_parallel(**(env_kwargs or {}))], name=spec_name(spec)).reset()
        return
    env = _as_trained(spec, None, env_kwargs)
    try:
        obs, _ = env.reset(seed=0)
        wrong = _shape_mismatch(env.observation_space, obs, "observation")
    finally:
        env.close()
    if wrong:
        raise UserError(f"{spec_name(spec)} lies about its observation space: {wrong}",
                        "make observation_space match what reset() and step() return "
                        "(check_env.py reports everything; drop --no-check to check before training)")


def _as_trained(spec: EnvSpec, render_mode: str | None, env_kwargs: dict[str, Any] | None) -> gym.Env:
    """``spec`` built as training sees it by default: with its kind's observation wrappers (a MiniGrid class, in
    any form, observes its image, as its registered id does), so the check judges what training will take."""
    env = make_one(spec, render_mode=render_mode, env_kwargs=env_kwargs)
    for wrap in observation_wrappers(spec, EnvOptions(), spec_name(spec))[0]:
        env = wrap(env)
    return env


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
            report.problems.append(f"gymnasium's checker: {describe_error(err)}")
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
        report.problems.append(f"a random rollout crashed: {describe_error(err)}")


def _check_render(env: gym.Env, report: CheckReport) -> None:
    try:
        env.reset(seed=0)
        frame = env.render()
    except Exception as err:
        report.problems.append(f"render() raised {describe_error(err)}")
        return
    if not (isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3):
        report.problems.append("render() with render_mode='rgb_array' must return an (H, W, 3) uint8 array")
