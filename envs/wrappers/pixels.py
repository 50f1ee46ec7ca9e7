"""Train on what an env draws: its ``rgb_array`` frames, resized, optionally grey, stacked.

``--pixels`` (the ``pixels`` hyperparameter, :class:`PixelOptions`) puts :class:`PixelObservation`
around any env that renders ``rgb_array`` frames: the env's own observation is dropped and the
agent sees ``(H, W, C)`` uint8 images, ``C = stack`` grey frames or ``3 * stack`` colour
channels, newest last (SB3's ``VecTransposeImage`` turns them channels first for its CNNs).
``render()`` still returns the env's own full-size frame, so videos show the game, not the
agent's small input.

Resizing uses OpenCV's area interpolation (the standard for shrinking Atari frames; NumPy
has no resampling of its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import gymnasium as gym
import numpy as np
from gymnasium import spaces

from gymsuite.common.errors import UserError
from gymsuite.common.options import Rule, option, parse


@dataclass(frozen=True)
class PixelOptions:
    """The ``pixels`` hyperparameter: ``true`` or a mapping of these."""

    height: int = option(84, "frame height after resizing", Rule(int, low=8, high=1024))
    width: int = option(84, "frame width after resizing", Rule(int, low=8, high=1024))
    grey: bool = option(True, "convert frames to one grey channel", Rule(bool))
    stack: int = option(4, "frames stacked as channels, newest last (velocities need 2 or more)",
                        Rule(int, low=1, high=16))


def pixel_options(value: Any) -> PixelOptions | None:
    """The :class:`PixelOptions` of a ``pixels`` value (``true``, ``false``/``null`` or a mapping), validated."""
    if value is None or value is False:
        return None
    if value is True:
        return PixelOptions()
    if not isinstance(value, dict):
        raise UserError(f"bad value for 'pixels': {value!r}",
                        "pixels must be true, false or a mapping, e.g. {height: 64, width: 64, stack: 4}")
    return parse(PixelOptions, value, "pixels option")


class PixelObservation(gym.Wrapper):
    """The env's rendered frames as its observation: ``(height, width, C)`` uint8, C = stack (grey) or 3 x stack.

    The env must be built with ``render_mode="rgb_array"``; the first frame is checked.
    Reset fills the whole stack with the first frame.
    """

    def __init__(self, env: gym.Env, options: PixelOptions, name: str = "the env") -> None:
        super().__init__(env)
        if env.render_mode != "rgb_array":
            modes = env.metadata.get("render_modes", [])
            raise UserError(f"--pixels needs {name} to render rgb_array frames, but its render modes are {modes}",
                            "use an env whose render_mode='rgb_array' returns an (H, W, 3) image, or drop --pixels")
        self.options = options
        per_frame = 1 if options.grey else 3
        self.observation_space = spaces.Box(0, 255, (options.height, options.width, per_frame * options.stack),
                                            np.uint8)
        self._stack = np.zeros(self.observation_space.shape, np.uint8)
        self._per_frame = per_frame
        self._name = name

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        _, info = self.env.reset(**kwargs)
        frame = self._frame()
        self._stack[:] = np.tile(frame, (1, 1, self.options.stack))
        return self._stack.copy(), info

    def step(self, action: Any) -> tuple[np.ndarray, Any, bool, bool, dict[str, Any]]:
        _, reward, terminated, truncated, info = self.env.step(action)
        k = self._per_frame
        self._stack[:, :, :-k] = self._stack[:, :, k:]
        self._stack[:, :, -k:] = self._frame()
        return self._stack.copy(), reward, terminated, truncated, info

    def _frame(self) -> np.ndarray:
        """The env's current frame, resized (and grey): ``(height, width, 1 or 3)`` uint8."""
        frame = self.env.render()
        if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3:
            got = frame.shape if isinstance(frame, np.ndarray) else type(frame).__name__
            raise UserError(f"--pixels: {self._name}'s render() returned {got}, not an (H, W, 3) image",
                            "make render() return the frame as an RGB array when render_mode='rgb_array'")
        return resize_frame(frame, self.options.height, self.options.width, self.options.grey)


def resize_frame(frame: np.ndarray, height: int, width: int, grey: bool) -> np.ndarray:
    """An ``(H, W, 3)`` RGB frame as ``(height, width, 1 if grey else 3)`` uint8 (OpenCV's area interpolation)."""
    frame = np.ascontiguousarray(frame, dtype=np.uint8)
    if frame.shape[:2] != (height, width):
        frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    if grey:
        return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)[:, :, None]
    return frame
