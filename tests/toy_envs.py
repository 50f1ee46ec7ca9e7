"""Toy environments shared by the tests, in one place.

Well-behaved ones (:class:`Counter`, :class:`Corridor`) serve as tiny tasks with known answers;
broken ones (:class:`OldApiEnv`, :class:`NanEnv`, :class:`OutOfSpaceEnv`, :class:`LateNan`,
:class:`WrongResetShape`) exercise the checker and the guards. The product loads custom envs
from a file path too, so tests name these as ``f"{TOY_FILE}:NanEnv"``.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium import spaces

TOY_FILE = Path(__file__).resolve()


class Counter(gym.Env):
    """Observation = steps since reset; reward 1 per step; terminates after ``terminate_at`` steps if given."""

    observation_space = spaces.Box(0.0, 100.0, (1,), np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self, terminate_at: int | None = None) -> None:
        self.terminate_at, self.t = terminate_at, 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0], np.float32), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        return np.array([self.t], np.float32), 1.0, self.t == self.terminate_at, False, {}


class Corridor(gym.Env):
    """Three cells seen as a uint8 ``(12, 12, 3)`` image (the agent is a bright column); the right end pays 1.

    ``render()`` (``render_mode="rgb_array"``) shows the observation four times larger, at 10 fps.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    observation_space = spaces.Box(0, 255, (12, 12, 3), np.uint8)
    action_space = spaces.Discrete(2)

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode, self.pos = render_mode, 0

    def render(self) -> np.ndarray | None:
        return self._image().repeat(4, axis=0).repeat(4, axis=1) if self.render_mode == "rgb_array" else None

    def _image(self) -> np.ndarray:
        img = np.zeros((12, 12, 3), np.uint8)
        img[:, 4 * self.pos : 4 * self.pos + 4] = 255
        return img

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.pos = 0
        return self._image(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.pos = int(np.clip(self.pos + (1 if action else -1), 0, 2))
        return self._image(), float(self.pos == 2), self.pos == 2, False, {}


class Slider(gym.Env):
    """A point sliding on a rail, seen as a uint8 ``(12, 12, 3)`` image; its true state is ``[position, velocity]``.

    The action pushes left or right (the velocity changes by 0.05); the image shows the position
    (a bright column), never the velocity. ``state`` and ``state_names`` are what ``gymsuite probe``
    reads; episodes are cut after 20 steps; the reward is the position.
    """

    observation_space = spaces.Box(0, 255, (12, 12, 3), np.uint8)
    action_space = spaces.Discrete(2)
    state_names = ("position", "velocity")

    def __init__(self) -> None:
        self.state, self.t = np.zeros(2), 0

    def _image(self) -> np.ndarray:
        img = np.zeros((12, 12, 3), np.uint8)
        img[:, int(round(self.state[0] * 11))] = 255
        return img

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.state, self.t = np.array([self.np_random.uniform(0.2, 0.8), 0.0]), 0
        return self._image(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        velocity = float(np.clip(self.state[1] + (0.05 if action else -0.05), -0.1, 0.1))
        position = float(np.clip(self.state[0] + velocity, 0.0, 1.0))
        self.state, self.t = np.array([position, velocity]), self.t + 1
        return self._image(), position, False, self.t >= 20, {}


class _Broken(gym.Env):
    observation_space = spaces.Box(-1, 1, (2,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2, np.float32), {}


class OldApiEnv(_Broken):
    """gym 0.21's ``step``: four values instead of five."""

    def step(self, action: int) -> tuple:
        return np.zeros(2, np.float32), 0.0, False, {}


class NanEnv(_Broken):
    """A NaN reward on every step."""

    def step(self, action: int) -> tuple:
        return np.zeros(2, np.float32), float("nan"), False, False, {}


class OutOfSpaceEnv(_Broken):
    """Observations outside ``observation_space``."""

    def step(self, action: int) -> tuple:
        return np.full(2, 5.0, np.float32), 0.0, False, False, {}


class LateNan(_Broken):
    """Fine for 300 steps (so it passes the pre-training check), then NaN rewards; truncates at 400."""

    def step(self, action: int) -> tuple:
        self.t += 1
        return np.zeros(2, np.float32), float("nan") if self.t > 300 else 0.0, False, self.t >= 400, {}


class WrongResetShape(gym.Env):
    """``reset`` returns a ``(2,)`` observation for a ``(3,)`` space."""

    observation_space = spaces.Box(0, 1, (3,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action: int) -> tuple:
        return np.zeros(3, np.float32), 0.0, False, False, {}


class TextMission(gym.Env):
    """minigrid's observation in miniature: a Dict of an image and a ``Text`` mission, which SB3 cannot train on."""

    observation_space = spaces.Dict({"image": spaces.Box(0, 255, (7, 7, 3), np.uint8),
                                     "mission": spaces.Text(max_length=20)})
    action_space = spaces.Discrete(3)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        return {"image": np.zeros((7, 7, 3), np.uint8), "mission": "get to the goal"}, {}

    def step(self, action: int) -> tuple:
        return {"image": np.zeros((7, 7, 3), np.uint8), "mission": "get to the goal"}, 0.0, False, False, {}


class LyingSpaces(_Broken):
    """Declares ``(2,)`` observations but returns ``(5,)`` ones: what ``--no-check`` lets through."""

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return np.zeros(5, np.float32), {}

    def step(self, action: int) -> tuple:
        return np.zeros(5, np.float32), 0.0, False, False, {}
