"""Recording demonstrations: an expert's episodes through imitation's ``rollout``, or a person's steps.

Both produce :class:`gymsuite.agents.data.demos.Demos` (see that module for the file layout).
Shapes: O the observation shape, A the action shape (``()`` for ``Discrete``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from gymnasium import spaces
from imitation.data import rollout
from stable_baselines3.common.vec_env import VecEnv

from gymsuite.agents.data.demos import Demos
from gymsuite.common.errors import UserError
from gymsuite.common.spaces import describe_space


def record_demos(policy: Any, venv: VecEnv, episodes: int, env: str, seed: int = 0,
                 deterministic: bool = True, source: str = "") -> Demos:
    """Play ``episodes`` whole episodes of ``policy`` in ``venv`` with imitation's ``rollout``.

    ``venv`` must come from ``make_env(..., wrappers=[RolloutInfoWrapper])``: the observations
    and rewards stored are then the raw env's, whatever normalisation wraps ``venv``.
    With several envs imitation keeps sampling until every started episode ends (so short
    episodes are not favoured); the first ``episodes`` of them are kept.
    """
    rng = np.random.default_rng(seed)
    trajs = rollout.rollout(policy, venv, rollout.make_sample_until(min_episodes=episodes), rng=rng,
                            deterministic_policy=deterministic, exclude_infos=False, verbose=False)[:episodes]
    trajs, truncated = split_truncation(trajs)
    return Demos.from_trajectories(trajs, truncated, env, venv.observation_space, venv.action_space, source)


def split_truncation(trajs: Sequence[Any]) -> tuple[list[Any], list[bool]]:
    """imitation trajectories collected with infos -> ``(the same without infos, whether each hit a time limit)``."""
    truncated = [bool(t.infos[-1].get("TimeLimit.truncated", False)) for t in trajs]
    return [replace(t, infos=None) for t in trajs], truncated


class DemoRecorder:
    """Collects single-env steps (a person playing) into :class:`Demos`.

    Call :meth:`start` with each episode's first observation, :meth:`add` after every step
    and :meth:`end` when the episode is over; an unfinished episode is dropped.
    """

    def __init__(self, env: str, observation_space: spaces.Space, action_space: spaces.Space,
                 source: str = "") -> None:
        self.env, self.source = env, source
        self.observation_space, self.action_space = observation_space, action_space
        self._done: list[tuple[list, list, list, bool, bool]] = []
        self._obs: list = []
        self._acts: list = []
        self._rews: list = []

    def start(self, obs: np.ndarray) -> None:
        self._obs, self._acts, self._rews = [np.asarray(obs)], [], []

    def add(self, action: Any, reward: float, next_obs: np.ndarray) -> None:
        self._acts.append(np.asarray(action))
        self._rews.append(float(reward))
        self._obs.append(np.asarray(next_obs))

    def end(self, terminated: bool, truncated: bool) -> None:
        if self._acts:
            self._done.append((self._obs, self._acts, self._rews, bool(terminated), bool(truncated)))
        self._obs, self._acts, self._rews = [], [], []

    @property
    def episodes(self) -> int:
        return len(self._done)

    def demos(self) -> Demos:
        if not self._done:
            raise UserError("no complete episode was recorded, so there is nothing to save",
                            "play at least one episode to its end")
        obs_dtype = self.observation_space.dtype
        return Demos(obs=np.concatenate([np.stack(o) for o, *_ in self._done]).astype(obs_dtype),
                     acts=np.concatenate([np.stack(a) for _, a, *_ in self._done]).astype(self.action_space.dtype),
                     rews=np.concatenate([np.array(r, dtype=np.float32) for _, _, r, *_ in self._done]),
                     lengths=np.array([len(a) for _, a, *_ in self._done], dtype=np.int64),
                     terminated=np.array([d[3] for d in self._done]), truncated=np.array([d[4] for d in self._done]),
                     env=self.env, observation_space=describe_space(self.observation_space),
                     action_space=describe_space(self.action_space), source=self.source)

