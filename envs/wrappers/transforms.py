"""Observation transforms that make a new task from an old env: entries permuted, signs flipped.

The course's life-long learning examples are one domain seen differently (permuted MNIST); for a vector
observation the same change is ``obs'[k] = sign[k] * obs[perm[k]]``: the physics stay, the agent's input layer
must map them anew. Shapes: O observation entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from gymsuite.common.errors import UserError


class ObservationTransform(gym.ObservationWrapper):
    """``obs'[k] = sign[k] * obs[perm[k]]`` on a 1-D ``Box`` observation of O entries; the bounds follow.

    Args:
        env: an env with a 1-D ``Box`` observation space.
        permute: a permutation of ``0..O-1`` (None: the identity).
        signflip: the entries (after permuting) whose sign flips (None: none).
        label: what the user wrote, for error messages.

    Raises:
        UserError: not a 1-D ``Box``; ``permute`` not a permutation of ``0..O-1``; an entry out of range.
    """

    def __init__(self, env: gym.Env, permute: Sequence[int] | None = None, signflip: Sequence[int] | None = None,
                 label: str = "") -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise UserError(f"{label}: permute and signflip transform a vector observation (a 1-D Box), "
                            f"not {space}", "drop permute/signflip for this env")
        size = space.shape[0]
        self.perm = np.arange(size) if permute is None else np.asarray(list(permute), dtype=np.int64)
        if sorted(self.perm.tolist()) != list(range(size)):
            raise UserError(f"{label}: permute={','.join(map(str, self.perm.tolist()))} is not a permutation of "
                            f"0..{size - 1}", f"list each of the {size} observation entries once, e.g. "
                            f"permute={','.join(map(str, reversed(range(size))))}")
        flips = [] if signflip is None else list(signflip)
        if any(not 0 <= k < size for k in flips):
            raise UserError(f"{label}: signflip={','.join(map(str, flips))} names entries outside 0..{size - 1}",
                            "signflip=true flips every entry; signflip=0,2 flips entries 0 and 2")
        self.sign = np.ones(size, dtype=space.dtype)
        self.sign[flips] = -1
        low, high = space.low[self.perm] * self.sign, space.high[self.perm] * self.sign
        self.observation_space = gym.spaces.Box(np.minimum(low, high), np.maximum(low, high), dtype=space.dtype)

    def observation(self, observation: Any) -> np.ndarray:
        """``sign * observation[perm]``, shape (O,)."""
        return (np.asarray(observation)[self.perm] * self.sign).astype(self.observation_space.dtype, copy=False)
