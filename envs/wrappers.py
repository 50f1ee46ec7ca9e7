"""Wrappers gymsuite puts around every environment it builds."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from envs.errors import UserError


class FiniteGuard(gym.Wrapper):
    """Stop with a clear error as soon as an env emits a NaN or infinite reward or observation.

    A single NaN reward silently turns every network weight into NaN a few
    updates later; failing at the step that produced it names the culprit.

    Args:
        env: the environment to guard.
        name: the env spec, for the error message.
    """

    def __init__(self, env: gym.Env, name: str) -> None:
        super().__init__(env)
        self._name = name

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._check_obs(obs, "reset()")
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if not np.isfinite(reward):
            raise UserError(
                f"environment {self._name} returned a non-finite reward ({reward}) from step()",
                "fix the reward computation (look for 0/0, log(0) or overflow) or clip it with a wrapper",
            )
        self._check_obs(obs, "step()")
        return obs, reward, terminated, truncated, info

    def _check_obs(self, obs: Any, where: str) -> None:
        arrays = obs.values() if isinstance(obs, dict) else [obs]
        for value in arrays:
            arr = np.asarray(value)
            if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
                raise UserError(
                    f"environment {self._name} returned a non-finite observation from {where}: {arr}",
                    "fix the observation computation or clip it with a wrapper",
                )
