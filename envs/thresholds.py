"""When a task counts as solved, and the most it can return: ``--target-return`` (``auto`` and its checks).

A task's threshold is its registration's ``reward_threshold`` (:attr:`gymsuite.envs.target.EnvTarget.reward_threshold`:
CartPole-v1 475, Acrobot-v1 -100, MountainCar-v0 -110, LunarLander-v3 200, gymsuite/PixelCartPole-v0 195), else
gymsuite's own for classic tasks registered without one (:data:`THRESHOLDS`). The most a task can return is known
for the tasks in :data:`MAX_RETURNS` only: a target above it could never be reached.
"""

from __future__ import annotations

import math

from gymsuite.common.errors import UserError
from gymsuite.envs.specs import EnvSpec
from gymsuite.envs.target import classify_env

# Thresholds of classic tasks whose registration sets none (the score at which each is usually called solved).
THRESHOLDS = {"Pendulum-v1": -200.0}
# The highest return an episode can have: one reward per step up to the time limit (CartPole), or rewards that
# are never positive (Acrobot, MountainCar, Pendulum: at most 0).
MAX_RETURNS = {"CartPole-v0": 200.0, "CartPole-v1": 500.0, "gymsuite/PixelCartPole-v0": 500.0,
               "gymsuite/PixelCartPoleRecolored-v0": 500.0,
               "gymsuite/CartPoleNoVel-v0": 500.0, "Acrobot-v1": 0.0, "MountainCar-v0": 0.0, "Pendulum-v1": 0.0}


def threshold(env: EnvSpec) -> float | None:
    """The return at which ``env`` counts as solved, or None when neither its registration nor gymsuite sets one."""
    target = classify_env(env)
    if target.reward_threshold is not None:
        return float(target.reward_threshold)
    return THRESHOLDS.get(target.env_id or "")


def max_return(env: EnvSpec) -> float | None:
    """The highest return an episode of ``env`` can have, where known; else None."""
    return MAX_RETURNS.get(classify_env(env).env_id or "")


def target_return(value: str | float | int, env: EnvSpec) -> float:
    """``--target-return``'s value for ``env``: ``"auto"`` (its :func:`threshold`) or a number.

    Raises:
        UserError: ``auto`` for an env without a threshold, not a number, not finite, or above the env's
            :func:`max_return`.
    """
    name = env if isinstance(env, str) else getattr(env, "__name__", repr(env))
    if value == "auto":
        solved = threshold(env)
        if solved is None:
            raise UserError(f"--target-return auto: {name} has no reward threshold (its registration sets none)",
                            "pass a number: --target-return R")
        return solved
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UserError(f"--target-return must be a number or auto, got {value!r}",
                        "e.g. --target-return 475") from None
    if isinstance(value, bool) or not math.isfinite(number):
        raise UserError(f"--target-return must be a finite number or auto, got {value!r}", "e.g. --target-return 475")
    most = max_return(env)
    if most is not None and number > most:
        raise UserError(f"--target-return {number:g} is above the most {name} can return ({most:g}): it would never "
                        "be reached", f"pass at most {most:g}, or --target-return auto")
    return number
