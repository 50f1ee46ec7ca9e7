"""A run resolved once: the validated config with the defaults decided from the built env and model, frozen.

:func:`gymsuite.agents.run.config.build_config` validates a run (the algorithm's own decisions, such as mappo's
``multiagent.state``, included); :func:`gymsuite.agents.run.training.prepare` builds its env and model and
decides what needs them (:func:`choose_backbone`, :func:`whole_rollouts`), each decision a new config, never a
change of the validated one. The result is a :class:`ResolvedRun`: what ``config.yaml`` saves, the env resolved,
and the SB3 constructor's arguments. Nothing is written before it exists, and nothing changes it afterwards.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

from gymsuite.agents.run.config import named_extractor
from gymsuite.agents.run.runconfig import RunConfig
from gymsuite.envs.observation import EnvOptions
from gymsuite.envs.target import EnvTarget
from gymsuite.supervised import backbones, recurrent


@dataclass(frozen=True)
class ResolvedRun:
    """A run resolved before anything is written.

    Attributes:
        config: the config as ``config.yaml`` saves it, with the decided defaults (backbone, rounded budget).
        env: the run's env spec resolved (:func:`gymsuite.envs.target.resolve_env`).
        env_options: how its envs are built and seen (:func:`gymsuite.agents.observation.env_options`).
        policy: the SB3 policy the model was built with.
        model_kwargs: the keyword arguments the model's constructor received (read-only).
    """

    config: RunConfig
    env: EnvTarget
    env_options: EnvOptions
    policy: str
    model_kwargs: Mapping[str, Any]

    def __post_init__(self) -> None:
        object.__setattr__(self, "model_kwargs", MappingProxyType(dict(self.model_kwargs)))

    @property
    def hyperparams(self) -> Mapping[str, Any]:
        """The run's hyperparameters, read-only."""
        return MappingProxyType(self.config.hyperparams)


def choose_backbone(cfg: RunConfig, space: spaces.Space) -> RunConfig:
    """``cfg`` naming the backbone (``gymsuite.supervised.backbones.default_for``) of an image observation when the
    user named none (``cfg`` itself otherwise); a new config, ``cfg`` unchanged.

    Neither ``backbone`` nor ``policy_kwargs.features_extractor_class`` given, and the policy is
    ``MlpPolicy`` (every shipped default), which would flatten the image into an MLP; ``backbone=mlp``
    asks for that, ``policy=CnnPolicy`` for SB3's own CNN. The choice goes into the hyperparameters,
    so ``config.yaml`` and ``--resume`` keep it, and is said on stderr. With ``backbone=lstm`` the choice is
    the LSTM's ``encoder`` (``backbone_kwargs``).
    """
    hyper = cfg.hyperparams
    if isinstance(space, spaces.Dict) and "obs" in space.spaces:  # mappo: the backbone is the actor's, on obs["obs"]
        space = space["obs"]
    if named_extractor(hyper) or hyper.get("policy", "MlpPolicy") != "MlpPolicy" or not backbones.is_image(space):
        return cfg
    chosen = backbones.default_for(space)
    if recurrent.is_lstm(hyper):
        print(f"note: the observation is a {space.shape} image: the lstm reads it through encoder={chosen} "
              "(name one with backbone_kwargs={encoder: NAME})", file=sys.stderr)
        kwargs = {**(hyper.get("backbone_kwargs") or {}), "encoder": chosen}
        return dataclasses.replace(cfg, hyperparams={**hyper, "backbone_kwargs": kwargs})
    print(f"note: the observation is a {space.shape} image: using backbone={chosen} "
          "(name one with --hyperparams backbone=NAME)", file=sys.stderr)
    return dataclasses.replace(cfg, hyperparams={**hyper, "backbone": chosen})


def whole_rollouts(cfg: RunConfig, model: BaseAlgorithm) -> RunConfig:
    """``cfg`` with its timesteps rounded up to whole rollouts of an on-policy ``model``, saying so; a new config.

    SB3's on-policy ``learn`` only stops between rollouts of ``n_steps x n_envs`` steps: PPO's
    8 x 2048 rollout turns ``--timesteps 4000`` into 16,384 steps. The run's config, its
    progress bar and its checkpoint spacing then use the steps it really trains.
    """
    if not isinstance(model, OnPolicyAlgorithm):
        return cfg
    rollout = model.n_steps * model.n_envs
    rounded = -(-cfg.timesteps // rollout) * rollout
    if rounded == cfg.timesteps:
        return cfg
    print(f"note: {cfg.algo} trains in whole rollouts of n_steps x n_envs = {model.n_steps} x {model.n_envs} = "
          f"{rollout} steps: training {rounded} steps instead of {cfg.timesteps}", file=sys.stderr)
    return dataclasses.replace(cfg, timesteps=rounded, hyperparams={**cfg.hyperparams, "n_timesteps": rounded})
