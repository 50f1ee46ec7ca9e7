"""Observation transforms that make a new task from an old env: entries permuted, signs flipped, a task's id.

The course's life-long learning examples are one domain seen differently (permuted MNIST); for a vector
observation the same change is ``obs'[k] = sign[k] * obs[perm[k]]``: the physics stay, the agent's input layer
must map them anew. Without a task's id some such tasks contradict each other (``signflip=true`` shows CartPole's
state ``-s``, where the original task wants the other action), so a task can carry a one-hot id appended to its
observation, as Continual World gives its agents. Shapes: O observation entries, K tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from gymsuite.common.errors import UserError


class ObservationTransform(gym.ObservationWrapper):
    """``obs' = concat(sign * obs[perm], onehot)`` on a 1-D ``Box`` observation of O entries; the bounds follow.

    Args:
        env: an env with a 1-D ``Box`` observation space.
        permute: a permutation of ``0..O-1`` (None: the identity).
        signflip: the entries (after permuting) whose sign flips (None: none).
        taskid: ``(k, K)``: append a one-hot vector of K entries with entry k set (None: nothing appended).
        label: what the user wrote, for error messages.

    Raises:
        UserError: not a 1-D ``Box``; ``permute`` not a permutation of ``0..O-1``; an entry out of range.
    """

    def __init__(self, env: gym.Env, permute: Sequence[int] | None = None, signflip: Sequence[int] | None = None,
                 taskid: tuple[int, int] | None = None, label: str = "") -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise UserError(f"{label}: permute, signflip and taskid transform a vector observation (a 1-D Box), "
                            f"not {space}", "drop permute/signflip/taskid for this env")
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
        self.onehot = np.zeros(0 if taskid is None else taskid[1], dtype=space.dtype)
        if taskid is not None:
            self.onehot[taskid[0]] = 1
        ones = np.ones_like(self.onehot)
        self.observation_space = gym.spaces.Box(np.concatenate([np.minimum(low, high), 0 * ones]),
                                                np.concatenate([np.maximum(low, high), ones]), dtype=space.dtype)

    def observation(self, observation: Any) -> np.ndarray:
        """``sign * observation[perm]`` and the one-hot id, shape (O + K,)."""
        seen = np.asarray(observation)[self.perm] * self.sign
        return np.concatenate([seen, self.onehot]).astype(self.observation_space.dtype, copy=False)
