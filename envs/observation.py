"""How a run's env is built and seen: :class:`EnvOptions`, its hyperparameters' env keys parsed once, and the
observation preprocessing they choose.

The keys (:data:`ENV_KEYS`), all optional:

* ``env_kwargs``: keyword arguments of the env's constructor; ``max_episode_steps``: a ``TimeLimit`` (Atari:
  agent steps, counted by the game);
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
* ``randomize: {length: [0.25x, 4x], dist: loguniform, adr: {...}}`` (innermost,
  :mod:`gymsuite.envs.wrappers.randomize`): env parameters drawn anew for every episode (domain randomisation);
  single-agent envs only. Evaluation and recording of a run leave it out: they run at the nominal parameters.
* ``multiagent: {agent_id, state, pad, resize, grey}``: how each agent of a PettingZoo env sees it
  (:mod:`gymsuite.envs.multiagent.options`), applied by the bridge that :func:`gymsuite.envs.factory.make_env` builds.

Training, evaluation, recording and demonstrations all build their envs through
:func:`gymsuite.envs.factory.make_env` with the :class:`EnvOptions` of the run's ``config.yaml``
(``gymsuite.agents.observation.env_options`` adds a window backbone's history), so the agent always sees what it
was trained on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import gymnasium as gym
from gymnasium.wrappers import FrameStackObservation

from gymsuite.common.errors import UserError
from gymsuite.common.options import Rule, check_value
from gymsuite.envs.atari import AtariOptions
from gymsuite.envs.atari import options as atari_options
from gymsuite.envs.minigrid import MiniGridOptions, minigrid_options, minigrid_wrappers
from gymsuite.envs.multiagent.options import MultiAgentOptions, multiagent_options
from gymsuite.envs.target import EnvKind, lenient_target, resolve_env
from gymsuite.envs.wrappers.masking import KEPT, MaskVelocity
from gymsuite.envs.wrappers.pixels import PixelObservation, PixelOptions, pixel_options
from gymsuite.envs.wrappers.randomize import RandomizeOptions, randomize_options

OBSERVATION_KEYS = ("atari", "pixels", "minigrid", "history", "mask_velocity", "multiagent")
ENV_KEYS = ("env_kwargs", "max_episode_steps", "randomize", *OBSERVATION_KEYS)
SINGLE_AGENT_KEYS = ("atari", "pixels", "minigrid", "history", "mask_velocity", "randomize")
_HISTORY = Rule(int, low=1, nullable=True)
_MASK = Rule(bool, nullable=True)
_STEPS = Rule(int, low=1, nullable=True)


def _no_kwargs() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class EnvOptions:
    """The env keys of a run's hyperparameters (:data:`ENV_KEYS`), parsed and checked once by :meth:`parse`.

    Attributes:
        env_kwargs: the env constructor's keyword arguments (read-only).
        max_episode_steps: a time limit, or None (the env's own).
        atari, pixels, minigrid, multiagent: each family's parsed options (``pixels`` None: off).
        history: K of the observation window, or None.
        mask_velocity: drop the velocity entries of a classic-control observation.
        randomize: domain randomisation's ranges (:mod:`gymsuite.envs.wrappers.randomize`), or None.
        given: the single-agent observation keys the hyperparameters set (a PettingZoo env refuses them).
    """

    env_kwargs: Mapping[str, Any] = field(default_factory=_no_kwargs)
    max_episode_steps: int | None = None
    atari: AtariOptions = AtariOptions()
    pixels: PixelOptions | None = None
    minigrid: MiniGridOptions = MiniGridOptions()
    history: int | None = None
    mask_velocity: bool = False
    multiagent: MultiAgentOptions = MultiAgentOptions()
    randomize: RandomizeOptions | None = None
    given: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "env_kwargs", MappingProxyType(dict(self.env_kwargs)))

    @classmethod
    def parse(cls, hyper: Mapping[str, Any] | None, spec: Any = None) -> EnvOptions:
        """The options of a run's hyperparameters ``hyper`` (other keys ignored), checked.

        ``spec`` (the run's env, when known) lets ``mask_velocity`` refuse an Atari or MiniGrid id here, before
        anything is built; which envs it can mask is checked when the env is built.

        Raises:
            UserError: a bad value, naming its key.
        """
        hyper = hyper or {}
        kwargs = hyper.get("env_kwargs")
        if kwargs is not None and not isinstance(kwargs, Mapping):
            raise UserError(f"bad value for 'env_kwargs': {kwargs!r}", "env_kwargs must be a mapping, e.g. {size: 8}")
        pixels = pixel_options(hyper.get("pixels"))
        masked = bool(check_value("mask_velocity", hyper.get("mask_velocity"), _MASK, "hyperparameter 'mask_velocity'"))
        if masked:
            _check_mask(spec, pixels)
        return cls(env_kwargs=dict(kwargs or {}),
                   max_episode_steps=check_value("max_episode_steps", hyper.get("max_episode_steps"), _STEPS,
                                                 "hyperparameter 'max_episode_steps'"),
                   atari=atari_options(hyper.get("atari")), pixels=pixels,
                   minigrid=minigrid_options(hyper.get("minigrid")), history=history_length(hyper.get("history")),
                   mask_velocity=masked, multiagent=multiagent_options(hyper.get("multiagent")),
                   randomize=randomize_options(hyper.get("randomize")),
                   given=tuple(k for k in SINGLE_AGENT_KEYS if hyper.get(k) not in (None, False)))


def check_observation_options(hyper: dict[str, Any], spec: Any = None) -> None:
    """Validate the env keys of ``hyper`` (:meth:`EnvOptions.parse`; a :class:`~gymsuite.common.errors.UserError`
    names the bad key); ``history`` is stored as an int."""
    options = EnvOptions.parse(hyper, spec)
    if "history" in hyper:
        hyper["history"] = options.history


def _check_mask(spec: Any, pixels: PixelOptions | None) -> None:
    """``mask_velocity`` is refused with ``pixels`` and for an Atari or MiniGrid ``spec`` (images: nothing to drop)."""
    if pixels is not None:
        raise UserError("mask_velocity and pixels both set: images have no velocity entries to drop",
                        "keep one of them")
    target = lenient_target(spec)  # an unknown spec is reported by the step that builds it
    if target is not None and target.kind in (EnvKind.ATARI, EnvKind.MINIGRID):
        raise UserError(f"mask_velocity applies to classic-control observations, not to {spec}'s images",
                        f"drop mask_velocity (it masks {', '.join(sorted(KEPT))})")


def history_length(value: Any) -> int | None:
    """``history``'s K (None: no history), or a :class:`~gymsuite.common.errors.UserError` naming the bad value."""
    return check_value("history", value, _HISTORY, "hyperparameter 'history'")


def observation_wrappers(spec: Any, options: EnvOptions,
                         name: str) -> tuple[list[Callable[[gym.Env], gym.Env]], bool]:
    """``(wrappers, needs_rgb_render)``: the observation wrappers of ``spec``, innermost first.

    ``needs_rgb_render``: the env must be built with ``render_mode="rgb_array"`` (``pixels``).
    With ``pixels`` the env's own observation is dropped, so a MiniGrid id gets no MiniGrid wrapper.
    """
    history, pixels = options.history, options.pixels
    stack: list[Callable[[gym.Env], gym.Env]] = []
    if options.mask_velocity:  # innermost: the window (history) holds the masked observations
        _check_mask(spec, pixels)
        stack.append(MaskVelocity)
    if history is not None:
        stack.append(lambda env: FrameStackObservation(env, history, padding_type="zero"))
    if pixels is not None:
        return [lambda env: PixelObservation(env, pixels, name), *stack], True
    if resolve_env(spec).kind is EnvKind.MINIGRID:
        return [*minigrid_wrappers(options.minigrid), *stack], False
    return stack, False
