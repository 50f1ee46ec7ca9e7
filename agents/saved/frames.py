"""Frames for pre-training an encoder: N observations from a random or a trained agent, as training sees them.

The env comes from :func:`gymsuite.agents.saved.loading.make_agent_env`, the one builder of an agent's
env: the run's env kwargs and time limit, its frozen observation normalisation, and SB3's image
transposition. The frames are therefore exactly what a model built on that env receives before
its own preprocessing: uint8 ``(N, C, H, W)`` for images, ``(N, *O)`` otherwise.

Shapes: N frames, E envs side by side, O observation, C/H/W image.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from gymsuite.agents.saved.loading import LoadedAgent


def collect_frames(agent: LoadedAgent, venv: VecEnv, frames: int, deterministic: bool = False,
                   progress: Callable[[int], object] | None = None) -> np.ndarray:
    """The first ``frames`` observations ``(N, *O)`` that ``agent`` sees acting in ``venv`` (reset ones included).

    Args:
        agent: the random agent or a trained one.
        venv: its env (:func:`~gymsuite.agents.saved.loading.make_agent_env`); E envs are read side by side.
        frames: N.
        deterministic: greedy actions of a trained agent (default: sampled, for more varied frames).
        progress: called with the number of frames added at each step.
    """
    obs, dones = venv.reset(), np.ones(venv.num_envs, dtype=bool)
    assert isinstance(obs, np.ndarray), "frames are array observations"
    out = np.empty((frames, *obs.shape[1:]), dtype=obs.dtype)
    done = 0
    while done < frames:
        take = min(len(obs), frames - done)
        out[done:done + take] = obs[:take]
        done += take
        if progress is not None:
            progress(take)
        if done < frames:
            next_obs, _, dones, _ = venv.step(agent.act(obs, venv, deterministic, episode_start=dones))
            assert isinstance(next_obs, np.ndarray)
            obs = next_obs
    return out
