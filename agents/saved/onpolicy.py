"""On-policy states: the observations a saved agent meets when it acts in its own env.

Used by ``gymsuite explain`` (the states it attributes), ``gymsuite compress`` (the states on which a compressed
policy's greedy actions are compared with its teacher's) and the explain benchmark.

Shapes: N states, O observation as the model sees it (normalised, images channels first), A action.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from gymsuite.agents.saved.loading import LoadedAgent
from gymsuite.common.errors import UserError


@dataclass
class States:
    """N on-policy observations as the model sees them ``(N, *O)``, the actions taken ``(N, ...)`` and, for a
    video, the env's frames ``(H, W, 3)``."""

    observations: np.ndarray
    actions: np.ndarray
    frames: list[np.ndarray]


def collect_states(agent: LoadedAgent, venv: VecEnv, n: int, deterministic: bool, frames: bool) -> States:
    """The first ``n`` states the agent meets in ``venv`` (one env), across episodes, with its actions there."""
    obs, dones = venv.reset(), np.ones(1, dtype=bool)
    seen: list[np.ndarray] = []
    taken: list[np.ndarray] = []
    shots: list[np.ndarray] = []
    while len(seen) < n:
        assert isinstance(obs, np.ndarray), "on-policy states are array observations"
        action = agent.act(obs, venv, deterministic, episode_start=dones)
        seen.append(obs[0])
        taken.append(np.asarray(action)[0])
        if frames:
            image = venv.get_images()[0]
            if image is None or np.asarray(image).ndim != 3:
                raise UserError(f"{agent.env} rendered no rgb_array image for the video",
                                "its render() must return an (H, W, 3) array")
            shots.append(np.asarray(image, dtype=np.uint8))
        obs, _, dones, _ = venv.step(action)
    return States(np.stack(seen), np.stack(taken), shots)
