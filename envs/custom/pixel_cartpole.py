"""Pixel CartPole (``gymsuite/PixelCartPole-v0``): CartPole seen only through small grey images drawn in NumPy.

The dynamics, rewards and ends are gymnasium's ``CartPoleEnv`` (this class is one), so
``env.unwrapped.state`` stays the true state ``(x, x_dot, theta, theta_dot)`` that a linear
probe can be fitted to. Only the observation changes: the last ``stack`` frames, each a
``(height, width)`` uint8 grey image of the track, the cart and the pole, stacked as channels,
``(H, W, stack)``. One frame shows positions only; the difference between two frames shows
the velocities, so ``stack=2`` (the default) makes the task fully observable again.

Why drawn here: gymnasium renders CartPole with pygame at about 500 frames/s on this machine,
so pixel learning would be too slow to test on 2 cores; this renderer draws a 48x72 frame
in tens of microseconds. The pole is drawn 2.5 times its physical length (still to the
true angle) so that the 12-degree failure angle moves its tip by about 6 pixels; edges are
anti-aliased so that sub-pixel movement changes the image.

``render()`` (``render_mode="rgb_array"``) returns the newest frame, 4x larger and in RGB,
for videos.

**Appearance** (a visual domain shift, chapter 9): five grey levels in ``[0, 1]``, constructor keywords and
attributes read at every frame (so ``gymsuite shift --param background=...`` and ``randomize`` set them between
episodes, :mod:`gymsuite.envs.params`): ``background`` (the empty image), ``texture`` (the amplitude of a fixed
checkerboard of 6-pixel cells added to the background, a distractor that does not move), ``track``, ``cart`` and
``pole``. A pixel is ``background layer x (1 - coverage) + the shapes' colour``, where coverage is the anti-aliased
share of the pixel the track, cart and pole cover (the brightest of them); with the default look (a black
background, no texture, track 80/255, white cart and pole) this is exactly the original renderer.

* the **source domain** is the default look, :data:`SOURCE_LOOK` (``gymsuite/PixelCartPole-v0``);
* the **target domain** is :data:`TARGET_LOOK` (``gymsuite/PixelCartPoleRecolored-v0``): a mid-grey textured
  background with a dark cart and pole. Same dynamics, same observation space; a policy trained on the source
  alone has never seen a dark pole on a light ground.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

VIEW_HALF_WIDTH = 3.0  # world units shown left and right of the track's centre
POLE_DRAW_SCALE = 2.5  # the pole is drawn this many times its physical length (1 unit)
RENDER_SCALE = 4
TEXTURE_CELL = 6  # pixels a side of the texture's checkerboard cells
SOURCE_LOOK = {"background": 0.0, "texture": 0.0, "track": 80 / 255, "cart": 1.0, "pole": 1.0}
"""The default look: the source domain."""
TARGET_LOOK = {"background": 0.55, "texture": 0.25, "track": 0.3, "cart": 0.1, "pole": 0.1}
"""The target domain of domain adaptation (``gymsuite/PixelCartPoleRecolored-v0``)."""
LOOK = tuple(SOURCE_LOOK)


class PixelCartPoleEnv(CartPoleEnv):
    """CartPole whose observation is ``(height, width, stack)`` uint8 grey frames.

    Args:
        render_mode: ``None`` or ``"rgb_array"`` (the newest frame, enlarged, in RGB).
        height, width: size of one frame in pixels (at least 16x24).
        stack: frames stacked as channels, newest last (1 to 8).
        background, texture, track, cart, pole: the appearance's grey levels in ``[0, 1]`` (module docstring);
            ``texture`` is the checkerboard's amplitude, clipped where background + texture leaves ``[0, 1]``.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}
    # What a resumed run restores (gymsuite.agents.files.resumestate): CartPole's state, the stacked frames
    # (the next observation shows them) and the look, which domain randomisation may have drawn.
    resume_fields = ("state", "steps_beyond_terminated", "_frames", *LOOK)

    def __init__(self, render_mode: str | None = None, height: int = 48, width: int = 72, stack: int = 2,
                 background: float = SOURCE_LOOK["background"], texture: float = SOURCE_LOOK["texture"],
                 track: float = SOURCE_LOOK["track"], cart: float = SOURCE_LOOK["cart"],
                 pole: float = SOURCE_LOOK["pole"]) -> None:
        look = {"background": background, "texture": texture, "track": track, "cart": cart, "pole": pole}
        bad = {k: v for k, v in look.items() if not 0 <= float(v) <= 1}  # NaN fails too
        if bad:
            raise ValueError(f"PixelCartPole's grey levels must be in [0, 1], got {bad}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"PixelCartPole renders only rgb_array, not {render_mode!r}")
        if height < 16 or width < 24 or not 1 <= stack <= 8:
            raise ValueError(f"PixelCartPole needs height >= 16, width >= 24 and 1 <= stack <= 8, "
                             f"got {height}x{width}x{stack}")
        super().__init__()
        self.render_mode = render_mode
        self.height, self.width, self.stack = height, width, stack
        self.observation_space = spaces.Box(0, 255, (height, width, stack), np.uint8)
        self._frames = np.zeros((height, width, stack), np.uint8)
        self._scale = width / (2 * VIEW_HALF_WIDTH)  # pixels per world unit
        rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
        self._rows, self._cols = rows + 0.5, cols + 0.5  # pixel centres
        self._track_row = height * 0.8
        self._checker = ((rows // TEXTURE_CELL + cols // TEXTURE_CELL) % 2 * 2 - 1).astype(np.float32)  # +-1
        self.background, self.texture, self.track = float(background), float(texture), float(track)
        self.cart, self.pole = float(cart), float(pole)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed, options=options)
        frame = self._draw()
        self._frames[:] = frame[:, :, None]
        return self._frames.copy(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        _, reward, terminated, truncated, info = super().step(action)
        self._frames[:, :, :-1] = self._frames[:, :, 1:]
        self._frames[:, :, -1] = self._draw()
        return self._frames.copy(), reward, terminated, truncated, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        big = np.kron(self._frames[:, :, -1], np.ones((RENDER_SCALE, RENDER_SCALE), np.uint8))
        return np.repeat(big[:, :, None], 3, axis=2)

    def close(self) -> None:  # no pygame window to close
        pass

    def _draw(self) -> np.ndarray:
        """One ``(height, width)`` uint8 frame of the current state in the current look (module docstring)."""
        assert self.state is not None, "reset() first"
        x, theta = float(self.state[0]), float(self.state[2])
        cx = self.width / 2 + x * self._scale
        cart_w, cart_h = 0.5 * self._scale, 0.3 * self._scale
        top = self._track_row - cart_h
        # Anti-aliased coverage in [0, 1]: 1 inside, falling to 0 over one pixel outside.
        cart = (np.clip(cart_w / 2 + 0.5 - np.abs(self._cols - cx), 0, 1)
                * np.clip(cart_h / 2 + 0.5 - np.abs(self._rows - (top + cart_h / 2)), 0, 1))
        length = POLE_DRAW_SCALE * 2 * self.length * self._scale
        px, py = cx, top
        dx, dy = length * np.sin(theta), -length * np.cos(theta)
        t = np.clip(((self._cols - px) * dx + (self._rows - py) * dy) / (dx * dx + dy * dy), 0, 1)
        dist = np.hypot(self._cols - (px + t * dx), self._rows - (py + t * dy))
        pole = np.clip(1.5 - dist, 0, 1)  # about 2 pixels thick
        track = np.clip(1 - np.abs(self._rows - self._track_row), 0, 1)
        shapes = np.maximum(np.maximum(cart * self.cart, pole * self.pole), track * self.track)
        if self.background == 0 and self.texture == 0:  # the default look: the original renderer, exactly
            return (shapes * 255).astype(np.uint8)
        coverage = np.maximum(np.maximum(cart, pole), track)
        ground = np.clip(self.background + self.texture * self._checker, 0, 1)
        return ((ground * (1 - coverage) + shapes) * 255).astype(np.uint8)
