"""NoisyTVGrid: SparseGrid with a noisy TV on one cell, the course's "meaningless novelty" made concrete.

Observation: ``(2 + noise_dims,)`` float32: the agent's ``(x, y)`` scaled to ``[0, 1]``, then
the TV screen: fresh uniform noise in ``[0, 1]`` every step the agent stands on the TV cell,
zeros elsewhere.
Actions: ``Discrete(5)``: 0 right, 1 up, 2 left, 3 down (walls block), 4 stay (keep watching).
Reward: 1.0 on reaching the goal corner (episode terminates), else 0.0.
``info["distance"]`` is the Manhattan distance to the goal; ``info["watching_tv"]`` is True
on the TV cell.

Every step on the TV shows a screen never seen before. A curiosity that rewards
unpredictable *observations* (``gymsuite.rewards.curiosity`` method ``"raw"``) pays for it for ever,
so its agent sits in front of the TV. ICM's features are learned to predict the agent's
action, which the screen says nothing about, so its bonus on the TV fades (Pathak et al.
2017, section 4.3; Burda et al. 2018, "Large-scale study of curiosity-driven learning").
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from gymsuite.envs.custom.sparse_grid import SparseGridEnv

STAY = 4


class NoisyTVGridEnv(gym.Env):
    """A ``size x size`` SparseGrid with a TV showing noise on cell ``tv`` (default: left edge, halfway up)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, size: int = 10, noise_dims: int = 8, tv: tuple[int, int] | None = None,
                 render_mode: str | None = None) -> None:
        if noise_dims < 1:
            raise ValueError(f"noise_dims must be at least 1 (the TV screen), got {noise_dims}")
        self.grid = SparseGridEnv(size, render_mode)
        self.tv = np.array(tv if tv is not None else (0, size // 2))
        if not ((0 <= self.tv) & (self.tv < size)).all() or (self.tv == self.grid.goal).all():
            raise ValueError(f"tv must be a cell of the {size}x{size} grid other than the goal, got {tuple(self.tv)}")
        self.noise_dims = noise_dims
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0.0, 1.0, shape=(2 + noise_dims,), dtype=np.float32)
        self.action_space = spaces.Discrete(5)
        self._screen = np.zeros(noise_dims, dtype=np.float32)

    def _observe(self, grid_obs: np.ndarray, info: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        watching = bool((self.grid.pos == self.tv).all())
        self._screen = self.np_random.random(self.noise_dims, dtype=np.float32) if watching else 0.0 * self._screen
        return np.concatenate([grid_obs, self._screen]).astype(np.float32), {**info, "watching_tv": watching}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return self._observe(*self.grid.reset(seed=seed))

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        if not self.action_space.contains(action):
            raise ValueError(f"invalid action {action!r}; expected 0..4")
        if int(action) == STAY:
            grid_obs = (self.grid.pos / (self.grid.size - 1)).astype(np.float32)
            info = {"distance": int(np.abs(self.grid.goal - self.grid.pos).sum())}
            obs, info = self._observe(grid_obs, info)
            return obs, 0.0, False, False, info
        grid_obs, reward, terminated, truncated, info = self.grid.step(int(action))
        obs, info = self._observe(grid_obs, info)
        return obs, reward, terminated, truncated, info

    def render(self) -> np.ndarray | None:
        """The grid's image with the screen's noise as a grey strip along the top while watching."""
        img = self.grid.render()
        if img is not None and self._screen.any():
            strip = np.repeat((self._screen * 255).astype(np.uint8), -(-img.shape[1] // self.noise_dims))
            img[:6, :, :] = strip[: img.shape[1], None]
        return img
