"""SparseGrid: walk from one corner of a grid to the other; the only reward is at the goal.

The course's reward-shaping chapter in miniature: with ``size=10`` a random walk
rarely reaches the goal inside 200 steps, so an agent that learns only from the
environment's reward sees almost no signal. Shaping (distance to the goal) or
curiosity (new cells) fixes that.

Observation: ``(2,)`` float32, the agent's ``(x, y)`` scaled to ``[0, 1]``.
Actions: ``Discrete(4)``: 0 right, 1 up, 2 left, 3 down (walls block).
Reward: 1.0 on reaching the goal (episode terminates), else 0.0.
``info["distance"]`` is the Manhattan distance to the goal, for shaping terms.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

_MOVES = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]])


class SparseGridEnv(gym.Env):
    """A ``size x size`` grid; start at ``(0, 0)``, goal at ``(size-1, size-1)``."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, size: int = 10, render_mode: str | None = None) -> None:
        if size < 2:
            raise ValueError(f"size must be at least 2 so that start and goal differ, got {size}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.size = size
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
        self.action_space = spaces.Discrete(4)
        self.goal = np.array([size - 1, size - 1])
        self.pos = np.zeros(2, dtype=np.int64)

    def _obs(self) -> np.ndarray:
        return (self.pos / (self.size - 1)).astype(np.float32)

    def _info(self) -> dict[str, Any]:
        return {"distance": int(np.abs(self.goal - self.pos).sum())}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.pos = np.zeros(2, dtype=np.int64)
        return self._obs(), self._info()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        if not self.action_space.contains(action):
            raise ValueError(f"invalid action {action!r}; expected 0..3")
        self.pos = np.clip(self.pos + _MOVES[int(action)], 0, self.size - 1)
        at_goal = bool((self.pos == self.goal).all())
        return self._obs(), float(at_goal), at_goal, False, self._info()

    def render(self) -> np.ndarray | None:
        """An ``(H, W, 3)`` uint8 image: grey grid, green goal, blue agent."""
        if self.render_mode != "rgb_array":
            return None
        cell = max(8, 160 // self.size)
        img = np.full((self.size * cell, self.size * cell, 3), 230, dtype=np.uint8)
        img[::cell, :] = 180
        img[:, ::cell] = 180

        def paint(xy: np.ndarray, colour: tuple[int, int, int]) -> None:
            row = (self.size - 1 - xy[1]) * cell  # y grows upwards
            img[row + 2 : row + cell - 1, xy[0] * cell + 2 : (xy[0] + 1) * cell - 1] = colour

        paint(self.goal, (60, 180, 75))
        paint(self.pos, (40, 90, 220))
        return img
