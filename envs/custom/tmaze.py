"""Passive T-maze (``gymsuite/TMaze-v0``): remember a cue seen once, for as long as the corridor is long.

After Ni et al. (2023), "When do transformers shine in RL? Decoupling memory from credit
assignment": the memory a task needs is set by one number, the corridor ``length`` L
(``env_kwargs={length: L}``), and nothing else is hard (no exploration, no credit to assign
beyond the last step), so the horizon at which an agent fails is the horizon its memory lasts.

* Observation: ``(2,)`` float32 ``[cue, at_junction]``. ``cue`` is +1 or -1 at step 0 (the
  start cell) and 0 afterwards; ``at_junction`` is 1 at the junction (step L), else 0.
* Actions: ``Discrete(2)``. The first L steps walk the corridor whatever the action (reward 0);
  at the junction action 0 ("up") is right when the cue was +1, action 1 ("down") when it was -1.
* Reward: +1 if right, -1 if wrong, and the episode terminates: every episode lasts exactly
  L + 1 steps. The last step's ``info`` holds ``{"cue": +1 or -1, "correct": bool}``.

A memoryless policy sees ``[0, 1]`` at the junction whatever the cue, so its expected return
is 0; a policy that remembers the cue scores 1 every episode. The cue is drawn from the env's
``np_random`` at reset (seeded resets repeat their cues).

``render()`` (``render_mode="rgb_array"``) draws the corridor, the two arms, the agent (blue),
the start cell in the cue's colour while the cue is shown (green +1, red -1) and, after the
choice, the chosen arm green if right and red if wrong, as an ``(3 x cell, (L + 1) x cell, 3)``
uint8 image.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from gymsuite.common.errors import UserError

_CUE_COLOURS = {1: (60, 180, 75), -1: (220, 60, 50)}
_AGENT = (40, 90, 220)


class TMazeEnv(gym.Env):
    """A corridor of ``length`` cells ending at a T junction; the cue at the start says which arm pays.

    Args:
        length: corridor length L (an int, at least 1): steps between the cue and the decision.
        render_mode: ``None`` or ``"rgb_array"``.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}
    # What decides the next steps besides np_random: a resumed run restores them (gymsuite.agents.files.resumestate)
    resume_fields = ("cue", "position", "arm")

    def __init__(self, length: int = 8, render_mode: str | None = None) -> None:
        if isinstance(length, bool) or not isinstance(length, int | np.integer) or length < 1:
            raise UserError(f"TMaze's corridor length must be an integer of at least 1, got {length!r}",
                            "pass env_kwargs={length: 8} (steps between the cue and the junction)")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.length = int(length)
        self.render_mode = render_mode
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.cue = 1
        self.position = 0  # cells walked; length = at the junction, length + 1 = in an arm
        self.arm = 0  # after the decision: +1 up, -1 down
        self._corridor = np.zeros(2, dtype=np.float32)
        self._junction = np.array([0.0, 1.0], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.cue = 1 if self.np_random.random() < 0.5 else -1
        self.position, self.arm = 0, 0
        return np.array([self.cue, 0.0], dtype=np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if action != 0 and action != 1:
            raise ValueError(f"invalid action {action!r}; expected 0 (up) or 1 (down)")
        if self.position < self.length:
            self.position += 1
            obs = self._junction if self.position == self.length else self._corridor
            return obs.copy(), 0.0, False, False, {}
        if self.position > self.length:
            raise RuntimeError("TMaze episode is over; call reset()")
        self.position += 1
        self.arm = 1 if action == 0 else -1
        correct = self.arm == self.cue
        return self._corridor.copy(), 1.0 if correct else -1.0, True, False, {"cue": self.cue, "correct": correct}

    def render(self) -> np.ndarray | None:
        """An ``(3 * cell, (length + 1) * cell, 3)`` uint8 image: the maze grey, the agent blue, the cue's colour."""
        if self.render_mode != "rgb_array":
            return None
        cols = self.length + 1
        cell = max(2, min(16, 640 // cols) // 2 * 2)  # even, and the image at most about 640 wide
        img = np.full((3 * cell, cols * cell, 3), 40, dtype=np.uint8)  # walls

        def paint(row: int, col: int, colour: tuple[int, int, int], margin: int = 0) -> None:
            img[row * cell + margin:(row + 1) * cell - margin, col * cell + margin:(col + 1) * cell - margin] = colour

        for col in range(cols):
            paint(1, col, (200, 200, 200))
        paint(0, self.length, (200, 200, 200))  # the two arms
        paint(2, self.length, (200, 200, 200))
        if self.position == 0:
            paint(1, 0, _CUE_COLOURS[self.cue])
        margin = cell // 4
        if self.position <= self.length:
            paint(1, self.position, _AGENT, margin)
        else:  # the chosen arm in the colour of the outcome: green right, red wrong
            paint(1 - self.arm, self.length, _CUE_COLOURS[1 if self.arm == self.cue else -1])
            paint(1 - self.arm, self.length, _AGENT, margin)
        return img
