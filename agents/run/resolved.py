"""A run resolved once: the validated config with the defaults decided from the built env, frozen.

:func:`gymsuite.agents.run.config.build_config` validates a run (the algorithm's own decisions, such as mappo's
``multiagent.state``, included) and :func:`gymsuite.agents.observation.env_options` parses its env options;
once the env is built (:func:`gymsuite.agents.run.training.prepare`), :func:`resolve` decides what needs it, each
decision a new config, never a change of the validated one:

* the backbone of an image observation (:func:`choose_backbone`);
* the SB3 constructor's keyword arguments, alone (:func:`model_kwargs`: backbones become ``policy_kwargs``,
  schedules ``LinearSchedule``, the device chosen, a multi-agent env's rollout buffer);
* the budget rounded up to whole rollouts of an on-policy algorithm (:func:`whole_rollouts`).

The result is a :class:`ResolvedRun`: what ``config.yaml`` saves, the env resolved, its options, and exactly what
the model's constructor receives. Nothing is written before it exists, and nothing changes it afterwards.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from gymsuite.agents.algorithms.spec import AlgoSpec
from gymsuite.agents.multiagent.buffer import buffer_class_for
from gymsuite.agents.run.auxiliary import extractor_kwargs
from gymsuite.agents.run.config import SCHEDULED, named_extractor, resolve_device, schedule, uses_image_backbone
from gymsuite.agents.run.runconfig import RunConfig
from gymsuite.common.errors import UserError
from gymsuite.envs.observation import EnvOptions
from gymsuite.envs.target import EnvKind, EnvTarget, resolve_env
from gymsuite.supervised import backbones, recurrent

ACTIVATIONS = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "elu": torch.nn.ELU, "leaky_relu": torch.nn.LeakyReLU,
                "gelu": torch.nn.GELU, "silu": torch.nn.SiLU}


@dataclass(frozen=True)
class ResolvedRun:
    """A run resolved before anything is written.

    Attributes:
        config: the config as ``config.yaml`` saves it, with the decided defaults (backbone, rounded budget).
        env: the run's env spec resolved (:func:`gymsuite.envs.target.resolve_env`).
        env_options: how its envs are built and seen (:func:`gymsuite.agents.observation.env_options`).
        policy: the SB3 policy the model is built with.
        model_kwargs: the keyword arguments of the model's constructor, exactly (read-only): the SB3 ones alone,
            with the run's ``seed``.
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


def resolve(cfg: RunConfig, spec: AlgoSpec, venv: VecEnv, options: EnvOptions) -> ResolvedRun:
    """``cfg`` resolved against its built env ``venv`` (see the module docstring); ``cfg`` unchanged."""
    target = resolve_env(cfg.env)
    if spec.learn is None:
        cfg = choose_backbone(cfg, venv.observation_space)
    policy, kwargs = model_kwargs(spec, cfg)
    if target.kind is EnvKind.PARALLEL:  # the one place that picks the buffer leaving out done agents' steps
        kwargs["rollout_buffer_class"] = buffer_class_for(venv.observation_space)
    if spec.learn is None:
        cfg = whole_rollouts(cfg, rollout_size(spec.model_class(cfg.hyperparams), kwargs, venv.num_envs))
    return ResolvedRun(cfg, target, options, policy, {**kwargs, "seed": cfg.seed, "verbose": 0})


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


def rollout_size(cls: type, kwargs: Mapping[str, Any], n_envs: int) -> tuple[int, int] | None:
    """``(n_steps, n_envs)`` of an on-policy model of class ``cls`` built with ``kwargs`` on ``n_envs`` envs (a
    multi-agent env's: copies x agents), or None for an off-policy one; ``n_steps`` defaults to the class's own."""
    if not (isinstance(cls, type) and issubclass(cls, OnPolicyAlgorithm)):
        return None
    return int(kwargs.get("n_steps", inspect.signature(cls.__init__).parameters["n_steps"].default)), n_envs


def whole_rollouts(cfg: RunConfig, rollout: tuple[int, int] | None) -> RunConfig:
    """``cfg`` with its timesteps rounded up to whole rollouts of ``rollout = (n_steps, n_envs)`` (None:
    off-policy, ``cfg`` as it is), saying so; a new config.

    SB3's on-policy ``learn`` only stops between rollouts of ``n_steps x n_envs`` steps: PPO's
    8 x 2048 rollout turns ``--timesteps 4000`` into 16,384 steps. The run's config, its
    progress bar and its checkpoint spacing then use the steps it really trains.
    """
    if rollout is None:
        return cfg
    n_steps, n_envs = rollout
    rounded = -(-cfg.timesteps // (n_steps * n_envs)) * n_steps * n_envs
    if rounded == cfg.timesteps:
        return cfg
    print(f"note: {cfg.algo} trains in whole rollouts of n_steps x n_envs = {n_steps} x {n_envs} = "
          f"{n_steps * n_envs} steps: training {rounded} steps instead of {cfg.timesteps}", file=sys.stderr)
    return dataclasses.replace(cfg, timesteps=rounded, hyperparams={**cfg.hyperparams, "n_timesteps": rounded})


def model_kwargs(spec: AlgoSpec, cfg: RunConfig) -> tuple[str, dict[str, Any]]:
    """The policy name and constructor kwargs for ``spec`` from ``cfg.hyperparams``.

    ``backbone`` and ``backbone_kwargs`` become ``policy_kwargs``' ``features_extractor_class`` and
    ``features_extractor_kwargs``; ``--device`` the ``device`` (unless the hyperparameters set one).
    ``backbone=lstm`` becomes RecurrentPPO's LSTM arguments and policy (:mod:`gymsuite.supervised.recurrent`).
    """
    hyper = cfg.hyperparams
    kwargs = spec.model_keys(hyper)
    for key in SCHEDULED & kwargs.keys():
        kwargs[key] = schedule(key, kwargs[key])
    policy = str(hyper.get("policy", "MlpPolicy"))
    if recurrent.is_lstm(hyper):
        policy = recurrent.lstm_policy(policy)
        kwargs["policy_kwargs"] = {**(kwargs.get("policy_kwargs") or {}),
                                   **recurrent.policy_kwargs(hyper.get("backbone_kwargs"))}
    elif hyper.get("backbone") is not None:
        kwargs["policy_kwargs"] = {**(kwargs.get("policy_kwargs") or {}), "features_extractor_class": hyper["backbone"],
                                   "features_extractor_kwargs": dict(hyper.get("backbone_kwargs") or {})}
    if extractor_kwargs(cfg.hyperparams, {}):  # freeze_backbone, augment: arguments of the backbone
        if named_extractor(hyper) is None:  # SB3's own extractors (NatureCNN, FlattenExtractor) take neither
            raise UserError("freeze_backbone and augment need a gymsuite backbone, and this run names none "
                            f"(policy={hyper.get('policy', 'MlpPolicy')})",
                            "name one with --hyperparams backbone=NAME, e.g. backbone=nature_cnn (CnnPolicy's network)")
        kwargs["policy_kwargs"] = extractor_kwargs(cfg.hyperparams, dict(kwargs.get("policy_kwargs") or {}))
    if kwargs.get("policy_kwargs"):
        pk = dict(kwargs["policy_kwargs"])
        if isinstance(pk.get("activation_fn"), str):
            name = pk["activation_fn"].lower().removeprefix("nn.")
            if name not in ACTIVATIONS:
                raise UserError(f"unknown activation_fn {pk['activation_fn']!r}", f"use one of {sorted(ACTIVATIONS)}")
            pk["activation_fn"] = ACTIVATIONS[name]
        if isinstance(pk.get("features_extractor_class"), str):  # a backbone by name keeps config.yaml plain data
            pk["features_extractor_class"] = backbones.get(pk["features_extractor_class"])
        kwargs["policy_kwargs"] = pk
    kwargs.setdefault("device", resolve_device(cfg.device, uses_image_backbone(hyper)))
    return policy, kwargs
