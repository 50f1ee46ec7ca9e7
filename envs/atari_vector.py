"""The fast Atari path: an SB3 ``VecEnv`` over ale-py's C++ ``AtariVectorEnv``.

SB3 refuses ale-py's vector env as it is (a gymnasium ``VectorEnv``, not an SB3 ``VecEnv``:
batched infos, no ``terminal_observation``, no ``Monitor`` statistics), so this adapter
gives SB3 what it expects from ``DummyVecEnv(Monitor(...))``:

* ``infos[i]["episode"] = {"r", "l", "t"}``: the game's true (unclipped) return and length;
* ``infos[i]["terminal_observation"]``: the last observation of a finished episode (ale-py's
  same-step autoreset returns the next episode's first one in ``obs``);
* ``infos[i]["TimeLimit.truncated"]``: the frame cap ended the game, not the game itself.

Rewards are the game's own; clipping is ``gymsuite.rewards.clipping.VecClipReward``, outside. Episodic
life is not offered here: the native env resets the whole game when a life is lost, so a run
with ``episodic_life`` uses the per-env wrappers of :mod:`gymsuite.envs.atari`.

Shapes: N envs, K stacked frames, H/W image; observations ``(N, K, H, W)`` uint8, rewards ``(N,)``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

from gymsuite.envs.atari import AtariOptions, game_of, max_frames, sticky


class NativeAtariVecEnv(VecEnv):
    """``n_envs`` games of ``env_id`` stepped by ale-py's C++ threads, preprocessed as
    :func:`gymsuite.envs.atari.preprocess`.

    Args:
        env_id: an Atari id (``ALE/Pong-v5``). n_envs: N. opts: the run's :class:`AtariOptions`.
        max_episode_steps: cut a game after this many agent steps (default: ALE's 108,000 frames).
        num_threads: C++ worker threads (0: one per env, as many as the cores).
    """

    def __init__(self, env_id: str, n_envs: int, opts: AtariOptions, max_episode_steps: int | None = None,
                 num_threads: int = 0) -> None:
        from ale_py.vector_env import AtariVectorEnv

        self.env_id, self.options = env_id, opts
        self.venv = AtariVectorEnv(
            game=game_of(env_id), num_envs=n_envs, num_threads=num_threads, autoreset_mode="SameStep",
            max_num_frames_per_episode=max_frames(max_episode_steps, opts),
            repeat_action_probability=sticky(env_id, opts), img_height=opts.screen_size, img_width=opts.screen_size,
            stack_num=opts.frame_stack, frameskip=opts.frame_skip, noop_max=opts.noop_max,
            use_fire_reset=opts.fire_reset, episodic_life=False, reward_clipping=False)
        self.render_mode = None  # read by VecEnv.__init__
        super().__init__(n_envs, self.venv.single_observation_space, self.venv.single_action_space)
        self.metadata: dict[str, Any] = {"render_modes": [], "render_fps": 15}
        self._returns = np.zeros(n_envs)
        self._lengths = np.zeros(n_envs, dtype=np.int64)
        self._t_start = time.time()  # Monitor's "t": seconds since the env was built
        self._actions = np.zeros(n_envs, dtype=np.int64)

    def reset(self) -> VecEnvObs:
        seeds = None if self._seeds[0] is None else np.array(self._seeds, dtype=np.int64)
        obs, _ = self.venv.reset(seed=seeds)
        self._reset_seeds()
        self._returns[:], self._lengths[:] = 0.0, 0
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions, dtype=np.int64).reshape(self.num_envs)

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, terminated, truncated, info = self.venv.step(self._actions)
        rewards = rewards.astype(np.float32)
        self._returns += rewards
        self._lengths += 1
        dones = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        now = round(time.time() - self._t_start, 6)
        for i in np.flatnonzero(dones):
            infos[i]["episode"] = {"r": float(self._returns[i]), "l": int(self._lengths[i]),
                                   "t": now}
            infos[i]["terminal_observation"] = info["final_obs"][i]
            infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            self._returns[i], self._lengths[i] = 0.0, 0
        return obs, rewards, dones, infos

    def close(self) -> None:
        self.venv.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None] * self.num_envs  # the C++ env keeps no RGB frames; videos use the per-env path

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The adapter's own attribute for each env (there are no per-env Python objects)."""
        if not hasattr(self, attr_name):
            raise AttributeError(f"the native Atari vector env has no attribute {attr_name!r}")
        return [getattr(self, attr_name)] * len(list(self._get_indices(indices)))

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        raise AttributeError(f"the native Atari vector env cannot set {attr_name!r} per env")

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
                   **method_kwargs: Any) -> list[Any]:
        raise AttributeError(f"the native Atari vector env has no per-env method {method_name!r}: train with "
                             "atari={native: false} to get gymnasium envs")

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        """True for ``Monitor`` only: the adapter reports episode statistics as ``Monitor`` does."""
        return [issubclass(Monitor, wrapper_class)] * len(list(self._get_indices(indices)))
