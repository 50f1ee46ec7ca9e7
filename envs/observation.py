"""The one place that chooses an env's observation preprocessing from the run's hyperparameters.

* ``pixels`` (:mod:`gymsuite.envs.wrappers.pixels`): any env that renders ``rgb_array`` frames is seen
  through them (``gymsuite train --pixels`` sets ``pixels: true``);
* Atari ids (:mod:`gymsuite.envs.atari`): the standard preprocessing, by ``atari: {...}``, applied by
  :func:`gymsuite.envs.factory.make_env` itself (or ale-py's native vector env, chosen by the training pipeline);
* MiniGrid and BabyAI ids (:mod:`gymsuite.envs.minigrid`): the image the agent sees, by ``minigrid: {view: ...}``;
* ``mask_velocity: true`` (innermost, :mod:`gymsuite.envs.wrappers.masking`): a classic-control env without
  the velocity entries of its observation (a partially observable task for the memory backbones);
  not with ``pixels``, Atari or MiniGrid, whose observations have no velocity entries to drop;
* ``history: K`` (outermost): the last K observations, oldest first, as one ``(K, *obs_shape)`` array
  (gymnasium's ``FrameStackObservation``, zeros before the episode's first step). The training
  pipeline sets it for the window memory backbones (``framestack``, ``transformer``) from their
  ``context``; a user may set it by hand for any backbone.
* ``multiagent: {agent_id, state, pad, resize, grey}``: how each agent of a PettingZoo env sees it
  (:mod:`gymsuite.envs.multiagent.options`), applied by the bridge that :func:`gymsuite.envs.factory.make_env` builds.

Training, evaluation,
recording and demonstrations all build their envs through :func:`gymsuite.envs.factory.make_env`,
which calls :func:`observation_wrappers` with the hyperparameters saved in the run's
``config.yaml``, so the agent always sees what it was trained on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
from gymnasium.wrappers import FrameStackObservation

from gymsuite.common.errors import UserError
from gymsuite.common.options import Rule, check_value
from gymsuite.envs.atari import options as atari_options
from gymsuite.envs.minigrid import minigrid_options, minigrid_wrappers
from gymsuite.envs.multiagent.options import multiagent_options
from gymsuite.envs.target import EnvKind, lenient_target, resolve_env
from gymsuite.envs.wrappers.masking import KEPT, MaskVelocity
from gymsuite.envs.wrappers.pixels import PixelObservation, pixel_options

OBSERVATION_KEYS = ("atari", "pixels", "minigrid", "history", "mask_velocity", "multiagent")
_HISTORY = Rule(int, low=1, nullable=True)
_MASK = Rule(bool, nullable=True)


def observation_options(hyper: dict[str, Any] | None) -> dict[str, Any]:
    """The observation hyperparameters (:data:`OBSERVATION_KEYS`) of a run's ``hyper``."""
    return {k: v for k, v in (hyper or {}).items() if k in OBSERVATION_KEYS}


def check_observation_options(hyper: dict[str, Any], spec: Any = None) -> None:
    """Validate ``atari``, ``pixels``, ``minigrid``, ``history``, ``mask_velocity`` and ``multiagent`` (a
    :class:`~gymsuite.common.errors.UserError` names the bad key); ``history`` is stored as an int.

    ``spec`` (the run's env, when known) lets ``mask_velocity`` refuse an Atari or MiniGrid id here,
    before anything is built; which envs it can mask is checked when the env is built.
    """
    atari_options(hyper.get("atari"))
    pixel_options(hyper.get("pixels"))
    minigrid_options(hyper.get("minigrid"))
    if "history" in hyper:
        hyper["history"] = history_length(hyper["history"])
    multiagent_options(hyper.get("multiagent"))
    mask_velocity(spec, hyper)


def mask_velocity(spec: Any, options: dict[str, Any] | None) -> bool:
    """Whether ``options`` ask for :class:`~gymsuite.envs.wrappers.masking.MaskVelocity` on ``spec``.

    Raises:
        UserError: ``mask_velocity`` is not a bool, or is set with ``pixels`` or for an Atari or MiniGrid id.
    """
    options = options or {}
    if not check_value("mask_velocity", options.get("mask_velocity"), _MASK, "hyperparameter 'mask_velocity'"):
        return False
    if pixel_options(options.get("pixels")) is not None:
        raise UserError("mask_velocity and pixels both set: images have no velocity entries to drop",
                        "keep one of them")
    target = lenient_target(spec)  # an unknown spec is reported by the step that builds it
    if target is not None and target.kind in (EnvKind.ATARI, EnvKind.MINIGRID):
        raise UserError(f"mask_velocity applies to classic-control observations, not to {spec}'s images",
                        f"drop mask_velocity (it masks {', '.join(sorted(KEPT))})")
    return True


def history_length(value: Any) -> int | None:
    """``history``'s K (None: no history), or a :class:`~gymsuite.common.errors.UserError` naming the bad value."""
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
    if mask_velocity(spec, options):  # innermost: the window (history) holds the masked observations
        stack.append(MaskVelocity)
    if history is not None:
        stack.append(lambda env: FrameStackObservation(env, history, padding_type="zero"))
    pixels = pixel_options(options.get("pixels"))
    if pixels is not None:
        return [lambda env: PixelObservation(env, pixels, name), *stack], True
    if resolve_env(spec).kind is EnvKind.MINIGRID:
        return [*minigrid_wrappers(minigrid_options(options.get("minigrid"))), *stack], False
    return stack, False
