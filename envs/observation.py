"""The one place that chooses an env's observation preprocessing from the run's hyperparameters.

* ``pixels`` (:mod:`envs.wrappers.pixels`): any env that renders ``rgb_array`` frames is seen
  through them (``gymsuite train --pixels`` sets ``pixels: true``);
* Atari ids (:mod:`envs.atari`): the standard preprocessing, by ``atari: {...}``, applied by
  :func:`envs.factory.make_env` itself (or ale-py's native vector env, chosen by the training pipeline);
* MiniGrid and BabyAI ids (:mod:`envs.minigrid`): the image the agent sees, by ``minigrid: {view: ...}``;
* ``history: K`` (outermost): the last K observations, oldest first, as one ``(K, *obs_shape)`` array
  (gymnasium's ``FrameStackObservation``, zeros before the episode's first step). The training
  pipeline sets it for the window memory backbones (``framestack``, ``transformer``) from their
  ``context``; a user may set it by hand for any backbone.

Training, evaluation,
recording and demonstrations all build their envs through :func:`envs.factory.make_env`,
which calls :func:`observation_wrappers` with the hyperparameters saved in the run's
``config.yaml``, so the agent always sees what it was trained on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
from gymnasium.wrappers import FrameStackObservation

from common.options import Rule, check_value
from envs.atari import options as atari_options
from envs.minigrid import is_minigrid, minigrid_options, minigrid_wrappers
from envs.wrappers.pixels import PixelObservation, pixel_options

OBSERVATION_KEYS = ("atari", "pixels", "minigrid", "history")
_HISTORY = Rule(int, low=1, nullable=True)


def observation_options(hyper: dict[str, Any] | None) -> dict[str, Any]:
    """The observation hyperparameters (:data:`OBSERVATION_KEYS`) of a run's ``hyper``."""
    return {k: v for k, v in (hyper or {}).items() if k in OBSERVATION_KEYS}


def check_observation_options(hyper: dict[str, Any]) -> None:
    """Validate ``atari``, ``pixels``, ``minigrid`` and ``history`` (a :class:`~common.errors.UserError` names the
    bad key); ``history`` is stored as an int."""
    atari_options(hyper.get("atari"))
    pixel_options(hyper.get("pixels"))
    minigrid_options(hyper.get("minigrid"))
    if "history" in hyper:
        hyper["history"] = history_length(hyper["history"])


def history_length(value: Any) -> int | None:
    """``history``'s K (None: no history), or a :class:`~common.errors.UserError` naming the bad value."""
    return check_value("history", value, _HISTORY, "hyperparameter 'history'")


def observation_wrappers(spec: Any, options: dict[str, Any] | None,
                         name: str) -> tuple[list[Callable[[gym.Env], gym.Env]], bool]:
    """``(wrappers, needs_rgb_render)``: the observation wrappers of ``spec``, innermost first.

    ``needs_rgb_render``: the env must be built with ``render_mode="rgb_array"`` (``pixels``).
    With ``pixels`` the env's own observation is dropped, so a MiniGrid id gets no MiniGrid wrapper.
    """
    options = options or {}
    history = history_length(options.get("history"))
    stack: list[Callable[[gym.Env], gym.Env]] = []
    if history is not None:
        stack.append(lambda env: FrameStackObservation(env, history, padding_type="zero"))
    pixels = pixel_options(options.get("pixels"))
    if pixels is not None:
        return [lambda env: PixelObservation(env, pixels, name), *stack], True
    if is_minigrid(spec):
        return [*minigrid_wrappers(minigrid_options(options.get("minigrid"))), *stack], False
    return stack, False
