"""Will the replay buffer fit in RAM? Asked before the run starts, so an image DQN is refused instead of swapping.

SB3 allocates its ``ReplayBuffer`` with ``np.zeros``, which the OS commits lazily: a buffer too
big for the machine builds fine and fails hours later (the OOM killer, or swapping). An Atari
observation is 4 x 84 x 84 = 28,224 bytes, so the zoo's 100,000 transitions take 5.6 GB, twice
that without ``optimize_memory_usage`` (SB3 then keeps ``next_observations`` apart).

Shapes: O observation, A action.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from gymsuite.common.errors import UserError

MEMINFO = Path("/proc/meminfo")


def replay_bytes(buffer_size: int, observation_space: spaces.Space, action_space: spaces.Space,
                 optimize_memory_usage: bool = False) -> int:
    """Bytes of SB3's ``ReplayBuffer`` of ``buffer_size`` transitions (observations, next observations, the rest).

    Per transition: the observation (twice unless ``optimize_memory_usage``), the action
    (``float32`` x A for Box spaces, else the action space's dtype), the reward, ``done`` and ``timeout`` (float32).
    """
    obs = int(np.prod(observation_space.shape or (1,))) * np.dtype(observation_space.dtype or np.float32).itemsize
    act_dim = int(np.prod(action_space.shape)) if action_space.shape else 1
    act = act_dim * np.dtype(action_space.dtype or np.int64).itemsize
    return buffer_size * (obs * (1 if optimize_memory_usage else 2) + act + 3 * 4)


def available_bytes() -> int | None:
    """The RAM available now: MemAvailable of ``/proc/meminfo`` (Linux), else the free pages ``os.sysconf`` reports;
    None where neither answers."""
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):  # no sysconf (Windows), or no such name (macOS)
        return None


def check_replay_fits(hyper: dict[str, Any], observation_space: spaces.Space, action_space: spaces.Space,
                      default_size: int = 1_000_000) -> None:
    """Refuse a run whose replay buffer would not fit in the RAM available now, with the estimate and the fix.

    Args:
        hyper: the run's hyperparameters (``buffer_size``, ``optimize_memory_usage``).
        observation_space, action_space: the spaces the buffer stores (after SB3's transposition).
        default_size: SB3's ``buffer_size`` when the run does not set one.
    """
    size = int(hyper.get("buffer_size") or default_size)
    optimized = bool(hyper.get("optimize_memory_usage", False))
    need, free = replay_bytes(size, observation_space, action_space, optimized), available_bytes()
    if free is None or need <= free:
        return
    fits = max(int(size * free / need * 0.8), 1)
    fix = f"pass --hyperparams buffer_size={fits}"
    if not optimized:
        fix += (" or halve the memory with --hyperparams optimize_memory_usage=true "
                "replay_buffer_kwargs=\"{handle_timeout_termination: false}\"")
    raise UserError(f"the replay buffer of {size:,} transitions needs about {need / 2**30:.1f} GiB, and only "
                    f"{free / 2**30:.1f} GiB of RAM is available", fix)
