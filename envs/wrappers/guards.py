"""Guards: wrappers that stop a run with a clear error when an env misbehaves, and change nothing otherwise."""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn

from gymsuite.common.errors import UserError


class VecFiniteGuard(VecEnvWrapper):
    """Stop with a clear error as soon as an env emits a NaN or infinite reward or observation.

    A single NaN reward silently turns every network weight into NaN a few
    updates later; failing at the step that produced it names the culprit.
    The check runs once per batch (one vectorised ``isfinite`` over ``(N, ...)``),
    so it costs far less than a per-env wrapper.

    Args:
        venv: the vectorised env to guard.
        name: the env spec, for the error message.
    """

    def __init__(self, venv: VecEnv, name: str) -> None:
        super().__init__(venv)
        self.metadata = venv.metadata  # SB3's VecEnvWrapper keeps only render_modes; videos need render_fps
        self._name = name

    def reset(self) -> VecEnvObs:
        obs = self.venv.reset()
        self._check_obs(obs, "reset()")
        return obs

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        if not np.isfinite(rewards).all():
            i = int(np.flatnonzero(~np.isfinite(rewards))[0])
            raise UserError(
                f"environment {self._name} returned a non-finite reward ({rewards[i]}) from step() in env {i}",
                "fix the reward computation (look for 0/0, log(0) or overflow) or clip it with a wrapper",
            )
        self._check_obs(obs, "step()")
        return obs, rewards, dones, infos

    def _check_obs(self, obs: VecEnvObs, where: str) -> None:
        arrays = obs.values() if isinstance(obs, dict) else obs if isinstance(obs, tuple) else (obs,)
        for arr in arrays:
            if arr.dtype.kind == "f" and not np.isfinite(arr).all():
                i = int(np.flatnonzero(~np.isfinite(arr).reshape(len(arr), -1).all(axis=1))[0])
                raise UserError(
                    f"environment {self._name} returned a non-finite observation from {where} in env {i}: {arr[i]}",
                    "fix the observation computation or clip it with a wrapper",
                )
