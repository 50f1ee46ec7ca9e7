"""A run's own keys (the hyperparameters that are not SB3's constructor arguments), parsed into typed groups.

:func:`run_options` turns a validated run's hyperparameters into a frozen :class:`RunOptions`, which the run
pipeline reads instead of looking keys up in the dict:

* ``env``: how its envs are built and seen (:class:`gymsuite.envs.observation.EnvOptions`: ``env_kwargs``,
  ``max_episode_steps``, ``atari``, ``pixels``, ``minigrid``, ``history``, ``mask_velocity``, ``multiagent``,
  ``randomize``);
* ``model``: the policy and its backbone (:class:`ModelOptions`: ``policy``, ``backbone``, ``backbone_kwargs``,
  ``freeze_backbone``, ``augment``, and ``policy_kwargs.features_extractor_class``);
* ``aux``: the auxiliary loss and a pre-trained start (:class:`gymsuite.agents.run.auxiliary.AuxOptions`);
* ``robust``: the proactive defences ``adversarial`` and ``smooth``
  (:class:`gymsuite.agents.run.adversarial.RobustOptions`);
* ``normalize``: ``VecNormalize``'s arguments, or None;
* ``discount``: the agent's gamma (the run's, else its algorithm's default; None: not known), which
  ``VecNormalize`` discounts returns with and reward shaping's potential terms are checked against;
* ``continual``: one task of a continual-learning sequence (:class:`gymsuite.agents.run.continual.ContinualOptions`),
  or None.

The config loader (:mod:`gymsuite.agents.run.config`) checks each value first, with messages naming the key;
parsing here assumes a checked config.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from gymsuite.agents.observation import env_options
from gymsuite.agents.run.adversarial import RobustOptions, robust_options
from gymsuite.agents.run.auxiliary import AuxOptions, aux_options
from gymsuite.agents.run.continual import ContinualOptions, continual_options
from gymsuite.envs.observation import EnvOptions
from gymsuite.supervised import backbones, recurrent
from gymsuite.supervised.memory import WINDOW_BACKBONES


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class ModelOptions:
    """The policy and its backbone, as a run's hyperparameters name them.

    Attributes:
        policy: the SB3 policy name given (``MlpPolicy`` by default; ``backbone=lstm`` makes it RecurrentPPO's).
        backbone: the ``backbone`` named, or None.
        backbone_kwargs: its options (read-only).
        lstm: ``backbone=lstm``'s options (:class:`gymsuite.supervised.recurrent.LstmOptions`), else None.
        extractor: the features extractor named (``backbone``, an lstm's ``encoder``, else
            ``policy_kwargs.features_extractor_class``), or None: SB3's default for the policy.
        image: the policy has an image backbone (a CNN or attention, not an MLP); the device follows it.
        freeze: ``freeze_backbone``: the backbone's weights stay fixed.
        augment: ``augment``, the backbone's input augmentation, or None.
    """

    policy: str = "MlpPolicy"
    backbone: str | None = None
    backbone_kwargs: Mapping[str, Any] = field(default_factory=_empty)
    lstm: recurrent.LstmOptions | None = None
    extractor: Any = None
    image: bool = False
    freeze: bool = False
    augment: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "backbone_kwargs", MappingProxyType(dict(self.backbone_kwargs)))

    @property
    def extractor_flags(self) -> dict[str, Any]:
        """``freeze`` and ``augment`` as arguments of the backbone's constructor (empty when neither is set)."""
        flags: dict[str, Any] = {"freeze": True} if self.freeze else {}
        if self.augment:
            flags["augment"] = self.augment
        return flags


@dataclass(frozen=True)
class RunOptions:
    """A run's own keys in typed groups (see the module docstring)."""

    env: EnvOptions = field(default_factory=EnvOptions)
    model: ModelOptions = field(default_factory=ModelOptions)
    aux: AuxOptions = field(default_factory=AuxOptions)
    robust: RobustOptions = field(default_factory=RobustOptions)
    normalize: Mapping[str, Any] | None = None
    continual: ContinualOptions | None = None
    discount: float | None = None


def named_extractor(hyper: Mapping[str, Any]) -> Any:
    """The features extractor these hyperparameters name (``backbone``, else ``policy_kwargs``'), or None.

    With ``backbone=lstm`` it is the LSTM's ``encoder`` (None: RecurrentPPO flattens the observation).
    """
    if recurrent.is_lstm(hyper):
        return recurrent.encoder_name(hyper)
    return hyper.get("backbone") or (hyper.get("policy_kwargs") or {}).get("features_extractor_class")


def uses_image_backbone(hyper: Mapping[str, Any]) -> bool:
    """Whether the policy of these hyperparameters has an image backbone (a CNN or attention, not an MLP).

    A window backbone (framestack, transformer) counts as one when it names an image ``encoder``.
    """
    extractor = named_extractor(hyper)
    if extractor in WINDOW_BACKBONES:
        return (hyper.get("backbone_kwargs") or {}).get("encoder") is not None
    if extractor is not None:
        return extractor not in ("mlp", backbones.BACKBONES["mlp"])
    return str(hyper.get("policy", "")).startswith("Cnn")


def model_options(hyper: Mapping[str, Any]) -> ModelOptions:
    """The :class:`ModelOptions` of a run's (checked) hyperparameters."""
    lstm = recurrent.parse_options(hyper.get("backbone_kwargs")) if recurrent.is_lstm(hyper) else None
    return ModelOptions(policy=str(hyper.get("policy", "MlpPolicy")), backbone=hyper.get("backbone"),
                        backbone_kwargs=dict(hyper.get("backbone_kwargs") or {}), lstm=lstm,
                        extractor=named_extractor(hyper), image=uses_image_backbone(hyper),
                        freeze=bool(hyper.get("freeze_backbone")), augment=hyper.get("augment") or None)


def normalize_options(hyper: Mapping[str, Any], discount: float | None) -> Mapping[str, Any] | None:
    """``VecNormalize``'s keyword arguments for ``normalize`` (true or a mapping of them; gamma: the agent's
    ``discount``, unless the mapping gives one; None: VecNormalize's own), or None when it is off."""
    normalize = hyper.get("normalize", False)
    if not normalize:
        return None
    given = normalize if isinstance(normalize, Mapping) else {}
    return MappingProxyType({**({} if discount is None else {"gamma": discount}), **given})


def run_options(hyper: Mapping[str, Any], env: Any = None, discount: float | None = None) -> RunOptions:
    """The :class:`RunOptions` of a run's (checked) hyperparameters on ``env``, for an agent that discounts with
    ``discount`` (``AlgoSpec.discount``)."""
    return RunOptions(env=env_options(hyper, env), model=model_options(hyper), aux=aux_options(hyper),
                      robust=robust_options(hyper), normalize=normalize_options(hyper, discount),
                      continual=continual_options(hyper), discount=discount)


def with_model(options: RunOptions, hyper: Mapping[str, Any]) -> RunOptions:
    """``options`` with the model group of ``hyper`` (after a decision on the backbone); a new value."""
    return dataclasses.replace(options, model=model_options(hyper))
