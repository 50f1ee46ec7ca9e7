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
from gymsuite.agents.run.config import SCHEDULED, resolve_device, schedule
from gymsuite.agents.run.options import ModelOptions, RunOptions, model_options, with_model
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
        options: its own keys in typed groups (:class:`gymsuite.agents.run.options.RunOptions`: env, model, aux,
            normalize), the decided backbone included.
        policy: the SB3 policy the model is built with.
        model_kwargs: the keyword arguments of the model's constructor, exactly (read-only): the SB3 ones alone,
            with the run's ``seed``.
    """

    config: RunConfig
    env: EnvTarget
    options: RunOptions
    policy: str
    model_kwargs: Mapping[str, Any]

    def __post_init__(self) -> None:
        object.__setattr__(self, "model_kwargs", MappingProxyType(dict(self.model_kwargs)))

    @property
    def hyperparams(self) -> Mapping[str, Any]:
        """The run's hyperparameters, read-only."""
        return MappingProxyType(self.config.hyperparams)

    @property
    def env_options(self) -> EnvOptions:
        """How its envs are built and seen (``options.env``)."""
        return self.options.env


def resolve(cfg: RunConfig, spec: AlgoSpec, venv: VecEnv, options: RunOptions) -> ResolvedRun:
    """``cfg`` and its ``options`` resolved against its built env ``venv`` (see the module docstring); both
    unchanged."""
    target = resolve_env(cfg.env)
    if spec.learn is None:
        cfg, options = choose_backbone(cfg, options, venv.observation_space)
    policy, kwargs = model_kwargs(spec, cfg, options.model)
    if target.kind is EnvKind.PARALLEL:  # the one place that picks the buffer leaving out done agents' steps
        kwargs["rollout_buffer_class"] = buffer_class_for(venv.observation_space)
    if spec.learn is None:
        cfg = whole_rollouts(cfg, rollout_size(spec.model_class(cfg.hyperparams), kwargs, venv.num_envs))
    return ResolvedRun(cfg, target, options, policy, {**kwargs, "seed": cfg.seed, "verbose": 0})


def choose_backbone(cfg: RunConfig, options: RunOptions, space: spaces.Space) -> tuple[RunConfig, RunOptions]:
    """``cfg`` naming the backbone (``gymsuite.supervised.backbones.default_for``) of an image observation when the
    user named none, with its ``options`` (both as they are otherwise); new values, the given ones unchanged.

    Neither ``backbone`` nor ``policy_kwargs.features_extractor_class`` given, and the policy is
    ``MlpPolicy`` (every shipped default), which would flatten the image into an MLP; ``backbone=mlp``
    asks for that, ``policy=CnnPolicy`` for SB3's own CNN. The choice goes into the hyperparameters,
    so ``config.yaml`` and ``--resume`` keep it, and is said on stderr. With ``backbone=lstm`` the choice is
    the LSTM's ``encoder`` (``backbone_kwargs``).
    """
    hyper, model = cfg.hyperparams, options.model
    if isinstance(space, spaces.Dict) and "obs" in space.spaces:  # mappo: the backbone is the actor's, on obs["obs"]
        space = space["obs"]
    if model.extractor or model.policy != "MlpPolicy" or not backbones.is_image(space):
        return cfg, options
    chosen = backbones.default_for(space)
    if model.lstm is not None:
        print(f"note: the observation is a {space.shape} image: the lstm reads it through encoder={chosen} "
              "(name one with backbone_kwargs={encoder: NAME})", file=sys.stderr)
        hyper = {**hyper, "backbone_kwargs": {**model.backbone_kwargs, "encoder": chosen}}
    else:
        print(f"note: the observation is a {space.shape} image: using backbone={chosen} "
              "(name one with --hyperparams backbone=NAME)", file=sys.stderr)
        hyper = {**hyper, "backbone": chosen}
    return dataclasses.replace(cfg, hyperparams=hyper), with_model(options, hyper)


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


def model_kwargs(spec: AlgoSpec, cfg: RunConfig, model: ModelOptions | None = None) -> tuple[str, dict[str, Any]]:
    """The policy name and constructor kwargs for ``spec`` from ``cfg.hyperparams``, whose model group is ``model``
    (default: parsed from them).

    ``backbone`` and ``backbone_kwargs`` become ``policy_kwargs``' ``features_extractor_class`` and
    ``features_extractor_kwargs``; ``--device`` the ``device`` (unless the hyperparameters set one).
    ``backbone=lstm`` becomes RecurrentPPO's LSTM arguments and policy (:mod:`gymsuite.supervised.recurrent`).
    """
    model = model or model_options(cfg.hyperparams)
    kwargs = spec.model_keys(cfg.hyperparams)
    for key in SCHEDULED & kwargs.keys():
        kwargs[key] = schedule(key, kwargs[key])
    policy = model.policy
    if model.lstm is not None:
        policy = recurrent.lstm_policy(policy)
        kwargs["policy_kwargs"] = {**(kwargs.get("policy_kwargs") or {}), **recurrent.lstm_policy_kwargs(model.lstm)}
    elif model.backbone is not None:
        kwargs["policy_kwargs"] = {**(kwargs.get("policy_kwargs") or {}), "features_extractor_class": model.backbone,
                                   "features_extractor_kwargs": dict(model.backbone_kwargs)}
    if model.extractor_flags:  # freeze_backbone, augment: arguments of the backbone, kept in the saved model
        if model.extractor is None:  # SB3's own extractors (NatureCNN, FlattenExtractor) take neither
            raise UserError("freeze_backbone and augment need a gymsuite backbone, and this run names none "
                            f"(policy={model.policy})",
                            "name one with --hyperparams backbone=NAME, e.g. backbone=nature_cnn (CnnPolicy's network)")
        pk = dict(kwargs.get("policy_kwargs") or {})
        kwargs["policy_kwargs"] = {**pk, "features_extractor_kwargs": {**(pk.get("features_extractor_kwargs") or {}),
                                                                       **model.extractor_flags}}
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
    kwargs.setdefault("device", resolve_device(cfg.device, model.image))
    return policy, kwargs
