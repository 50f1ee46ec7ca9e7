"""MiniGrid from one command: the observation SB3 can train on, chosen for the user.

MiniGrid's observation is a ``Dict`` of ``image`` (the agent's 7x7 egocentric view, each cell
three small integers: object, colour, state), ``direction`` and ``mission`` (MiniGrid's own
``MissionSpace``, which SB3 cannot hold). :func:`minigrid_wrappers` keeps one image (:class:`MiniGridOptions`):

* ``view: agent`` (default): the 7x7x3 view, each channel scaled to span 0-255
  (:class:`SpreadCodes`), so that SB3's division by 255 leaves codes in ``[0, 1]``
  rather than below 0.04. ``small_cnn`` is the backbone chosen for it.
* ``view: rgb_agent``: the same view drawn in RGB, ``(7 x tile, 7 x tile, 3)`` (56x56 at ``tile: 8``).
* ``view: rgb_full``: the whole grid drawn in RGB, ``(height x tile, width x tile, 3)``.

The mission is dropped (each MiniGrid id has one mission family; BabyAI's language tasks need
a text encoder, which gymsuite does not have yet), and so is the direction: the agent's view
already turns with it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from gymsuite.common.errors import UserError
from gymsuite.common.options import Rule, option, parse

PREFIXES = ("MiniGrid-", "BabyAI-")
VIEWS = ("agent", "rgb_agent", "rgb_full")


def is_minigrid(spec: Any) -> bool:
    """Whether ``spec`` is a MiniGrid or BabyAI id (``minigrid:MiniGrid-...`` included)."""
    return isinstance(spec, str) and spec.rpartition(":")[2].startswith(PREFIXES)


def is_minigrid_class(obj: Any) -> bool:
    """Whether ``obj`` is a MiniGrid env class (a subclass of ``minigrid.minigrid_env.MiniGridEnv``): given as
    ``minigrid.envs:EmptyEnv`` or ``file.py:EmptyEnv`` it is the same env as its registered id."""
    return inspect.isclass(obj) and any(
        c.__name__ == "MiniGridEnv" and c.__module__.split(".")[0] == "minigrid" for c in inspect.getmro(obj))


@dataclass(frozen=True)
class MiniGridOptions:
    """The ``minigrid`` hyperparameter: which image the agent sees."""

    view: str = option("agent", "agent (7x7 cell codes), rgb_agent (the view in pixels) or rgb_full (the whole grid)",
                       Rule(str, choices=VIEWS))
    tile: int = option(8, "pixels per cell of the RGB views", Rule(int, low=1, high=32))


def minigrid_options(value: Any) -> MiniGridOptions:
    """The :class:`MiniGridOptions` of a ``minigrid`` value (a mapping or null), validated."""
    if value is None:
        return MiniGridOptions()
    if not isinstance(value, dict):
        raise UserError(f"bad value for 'minigrid': {value!r}", "minigrid must be a mapping, e.g. {view: rgb_agent}")
    return parse(MiniGridOptions, value, "minigrid option")


class SpreadCodes(gym.ObservationWrapper):
    """MiniGrid's cell codes (object <= 10, colour <= 5, state <= 2) spread over 0-255, channel by channel."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        from minigrid.core.constants import COLOR_TO_IDX, OBJECT_TO_IDX, STATE_TO_IDX

        top = np.array([max(OBJECT_TO_IDX.values()), max(COLOR_TO_IDX.values()), max(STATE_TO_IDX.values())])
        self._gain = (255 // top).astype(np.uint8)  # (3,): 25, 51, 127
        assert isinstance(env.observation_space, spaces.Box)
        self.observation_space = spaces.Box(0, 255, env.observation_space.shape, np.uint8)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return observation * self._gain


def minigrid_wrappers(options: MiniGridOptions) -> list[Any]:
    """The wrappers, innermost first, that turn a MiniGrid env's Dict observation into one image."""
    from minigrid.wrappers import ImgObsWrapper, RGBImgObsWrapper, RGBImgPartialObsWrapper

    if options.view == "agent":
        return [ImgObsWrapper, SpreadCodes]
    if options.view == "rgb_agent":
        return [lambda env: RGBImgPartialObsWrapper(env, tile_size=options.tile), ImgObsWrapper]
    return [lambda env: RGBImgObsWrapper(env, tile_size=options.tile), ImgObsWrapper]
