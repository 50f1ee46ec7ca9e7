"""Reward clipping for learning only: the agent trains on ``sign(r)``, the logs keep the game's score (DQN, Mnih 2015).

Both wrappers sit outside ``Monitor`` (or outside the native Atari vector env, whose episode
statistics are the game's), and keep the env's own reward in ``info["env_reward"]``
(:mod:`gymsuite.rewards.env_reward`). :class:`ClipReward` wraps one gymnasium env, :class:`VecClipReward`
an SB3 ``VecEnv``; ``gymsuite.agents.run.training._build_env`` picks the one that fits the env.

Shapes: N envs.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn

from gymsuite.rewards.env_reward import record_env_reward, record_env_rewards


class ClipReward(gym.Wrapper):
    """One env's reward replaced by its sign (-1, 0 or 1)."""

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, float(np.sign(float(reward))), terminated, truncated, record_env_reward(info, reward)


class VecClipReward(VecEnvWrapper):
    """The ``(N,)`` rewards of a ``VecEnv`` replaced by their signs."""

    def reset(self) -> VecEnvObs:
        return self.venv.reset()

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        record_env_rewards(infos, rewards)
        return obs, np.sign(rewards).astype(np.float32), dones, infos
