"""Observation and reward normalisation whose statistics learn from active slots only.

A multi-agent env (:mod:`gymsuite.envs.multiagent.bridge`) keeps one slot per agent: a done agent's slot holds a
placeholder observation and reward until the episode ends, marked ``info["inactive"]``. SB3's ``VecNormalize``
updates its running mean and variance with every row, so the placeholders (zeros) pulled the statistics toward
them, more so in games where agents are eliminated early. :class:`ActiveVecNormalize` is ``VecNormalize`` with
the statistics updated from the active rows only; every row is still normalised. For an env that marks no slot
inactive (every single-agent env) it computes exactly what ``VecNormalize`` does.

Shapes: N slots; observations ``(N, *O)`` (or a dict of them), rewards and returns ``(N,)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import VecNormalize
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn


class ActiveVecNormalize(VecNormalize):
    """``VecNormalize`` whose ``obs_rms`` and ``ret_rms`` learn from the slots not marked ``info["inactive"]``.

    ``step_wait`` is SB3's (stable-baselines3 2.x) with the two statistics updates masked; it cannot be
    reused by overriding a hook, because SB3 updates ``obs_rms`` inline, before it sees the infos' marks.
    """

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        assert isinstance(obs, np.ndarray | dict)
        self.old_obs, self.old_reward = obs, rewards
        active = np.array([not info.get("inactive", False) for info in infos], dtype=bool)
        if self.training and self.norm_obs:
            if isinstance(obs, dict) and isinstance(self.obs_rms, dict):
                for key in self.obs_rms:
                    _update(self.obs_rms[key], obs[key], active)
            else:
                _update(self.obs_rms, obs, active)
        obs = self.normalize_obs(obs)
        if self.training:
            self.returns = self.returns * self.gamma + rewards
            _update(self.ret_rms, self.returns, active)
        rewards = self.normalize_reward(rewards)
        for idx, done in enumerate(dones):
            if done and "terminal_observation" in infos[idx]:
                infos[idx]["terminal_observation"] = self.normalize_obs(infos[idx]["terminal_observation"])
        self.returns[dones] = 0
        return obs, rewards, dones, infos


def _update(rms: RunningMeanStd | Any, values: np.ndarray, active: np.ndarray) -> None:
    """``rms.update`` with the active rows of ``values`` (all of them: SB3's own call; none: no update)."""
    if active.all():
        rms.update(values)
    elif active.any():
        rms.update(values[active])
