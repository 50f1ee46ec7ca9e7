"""On-policy states: what a loaded agent meets when it acts in its own env, for explain, export, compress (the
states on which a compressed policy's greedy actions are compared with its teacher's) and continual learning.

A ``VecEnv`` of :func:`~gymsuite.agents.saved.loading.make_agent_env` hands the model its observation after the
run's ``VecNormalize`` and SB3's ``VecTransposeImage``; :func:`collect_states` keeps that view and, when asked,
the env's raw observation before them (:func:`raw_observation`), which an exported policy takes.

Shapes: N states, O observation as the model sees it, R raw observation (``(H, W, C)`` for an image whose model
sees ``(C, H, W)``), frames ``(H, W, 3)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper, VecNormalize, VecTransposeImage

from gymsuite.agents.saved.loading import LoadedAgent
from gymsuite.common.errors import UserError


@dataclass
class States:
    """N on-policy observations as the model sees them ``(N, *O)``, the actions taken ``(N, ...)``, whether each
    state began an episode ``(N,)`` bool, the raw observations ``(N, *R)`` (when collected, else None) and, for a
    video, the env's frames ``(H, W, 3)``."""

    observations: np.ndarray
    actions: np.ndarray
    frames: list[np.ndarray]
    starts: np.ndarray | None = None
    raw: np.ndarray | None = None


def collect_states(agent: LoadedAgent, venv: VecEnv, n: int, deterministic: bool, frames: bool,
                   raw: bool = False) -> States:
    """The first ``n`` states the agent meets in ``venv`` (one env), across episodes, with its actions there;
    with ``raw``, also the env's observations before the model's wrappers (:func:`raw_observation`)."""
    obs, dones = venv.reset(), np.ones(1, dtype=bool)
    seen: list[np.ndarray] = []
    taken: list[np.ndarray] = []
    shots: list[np.ndarray] = []
    starts: list[bool] = []
    raws: list[np.ndarray] = []
    while len(seen) < n:
        assert isinstance(obs, np.ndarray), "on-policy states are array observations"
        if raw:
            raws.append(raw_observation(venv, obs)[0])
        action = agent.act(obs, venv, deterministic, episode_start=dones)
        seen.append(obs[0])
        taken.append(np.asarray(action)[0])
        starts.append(bool(dones[0]))
        if frames:
            image = venv.get_images()[0]
            if image is None or np.asarray(image).ndim != 3:
                raise UserError(f"{agent.env} rendered no rgb_array image for the video",
                                "its render() must return an (H, W, 3) array")
            shots.append(np.asarray(image, dtype=np.uint8))
        obs, _, dones, _ = venv.step(action)
    return States(np.stack(seen), np.stack(taken), shots, np.asarray(starts), np.stack(raws) if raw else None)


def raw_observation(venv: VecEnv, obs: np.ndarray) -> np.ndarray:
    """The env's own observation ``(N, *R)`` behind ``obs`` ``(N, *O)``, the last one ``venv`` returned.

    Walks the wrappers from the outside in: ``VecTransposeImage`` is undone (a permutation, exact) and
    ``VecNormalize`` hands back the observation it normalised (``get_original_obs``); the wrappers inside it
    are the env's.
    """
    wrapper: VecEnv = venv
    while isinstance(wrapper, VecEnvWrapper):
        if isinstance(wrapper, VecNormalize):
            original = wrapper.get_original_obs()
            assert isinstance(original, np.ndarray), "on-policy states are array observations"
            return original
        if isinstance(wrapper, VecTransposeImage):
            obs = np.transpose(obs, (0, 2, 3, 1))  # (N, C, H, W) -> (N, H, W, C)
        wrapper = wrapper.venv
    return obs
