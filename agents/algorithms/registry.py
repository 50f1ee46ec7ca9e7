"""The algorithm registry: ``name -> AlgoSpec``.

Every algorithm gymsuite can train is one :class:`AlgoSpec`. The training
pipeline (``agents/training.py``) only talks to this interface, so adding an
algorithm is one module that calls :func:`register`.

An algorithm either is a stable-baselines3 ``BaseAlgorithm`` trained by
``model.learn`` (PPO, A2C, DQN, the policy-gradient versions), or provides its
own ``learn`` function (imitation learning) that still returns an SB3 model, so
saving, loading, evaluating and recording stay uniform.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gymnasium import spaces
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm

from common.errors import UserError, closest_hint

# Keys a hyperparameter file may hold that are not constructor arguments of the
# algorithm: they configure the environment or the run (rl-baselines3-zoo names).
RUN_KEYS = frozenset({"n_envs", "n_timesteps", "policy", "normalize", "env_kwargs", "max_episode_steps"})


@dataclass(frozen=True)
class AlgoSpec:
    """How to build, train and load one algorithm.

    Attributes:
        name: registry name (lower case), e.g. ``"ppo"``.
        cls: the SB3 class whose ``load`` reads this algorithm's ``model.zip``.
        action_spaces: action-space types the algorithm can act in.
        description: one line for ``--help`` listings.
        build: optional factory ``(policy, env, kwargs) -> model``; defaults to
            ``cls(policy, env, **kwargs)``.
        extra_keys: hyperparameters accepted besides ``cls.__init__``'s arguments
            (consumed by ``build`` or ``learn``).
        learn: optional replacement for ``model.learn`` (imitation learning):
            ``(model, total_timesteps, callback, context) -> model`` where
            ``context`` is the :class:`agents.pipeline.training.TrainContext`.
    """

    name: str
    cls: type[BaseAlgorithm]
    action_spaces: tuple[type[spaces.Space], ...]
    description: str
    build: Callable[[str, Any, dict[str, Any]], BaseAlgorithm] | None = None
    extra_keys: frozenset[str] = field(default_factory=frozenset)
    learn: Callable[..., BaseAlgorithm] | None = None

    def hyperparam_names(self) -> frozenset[str]:
        """All hyperparameter keys this algorithm accepts (constructor + extra + run keys)."""
        params = set(inspect.signature(self.cls.__init__).parameters) - {"self", "policy", "env", "args", "kwargs"}
        return frozenset(params) | self.extra_keys | RUN_KEYS

    def supports(self, action_space: spaces.Space) -> bool:
        """Whether the algorithm can act in ``action_space``."""
        return isinstance(action_space, self.action_spaces)

    def make_model(self, policy: str, env: Any, kwargs: dict[str, Any]) -> BaseAlgorithm:
        """Build a fresh model (no training)."""
        if self.build is not None:
            return self.build(policy, env, kwargs)
        return self.cls(policy, env, **kwargs)


_REGISTRY: dict[str, AlgoSpec] = {}
_ON_POLICY_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


def register(spec: AlgoSpec) -> AlgoSpec:
    """Add ``spec`` to the registry (its name must be new)."""
    if spec.name in _REGISTRY:
        raise ValueError(f"algorithm {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def available() -> list[str]:
    """Registered algorithm names, sorted."""
    _load_plugins()
    return sorted(_REGISTRY)


def get(name: str) -> AlgoSpec:
    """Look up an algorithm by name (case-insensitive); unknown names get suggestions."""
    _load_plugins()
    key = name.lower()
    if key not in _REGISTRY:
        raise UserError(f"unknown algorithm {name!r}", closest_hint(key, sorted(_REGISTRY), "choose one of", n=3))
    return _REGISTRY[key]


def check_action_space(spec: AlgoSpec, action_space: spaces.Space, env_name: str) -> None:
    """Raise a :class:`UserError` when ``spec`` cannot act in ``action_space``."""
    if spec.supports(action_space):
        return
    fits = [s.name for s in _REGISTRY.values() if s.supports(action_space)]
    raise UserError(
        f"{spec.name} cannot act in {env_name}: its action space is {action_space}, "
        f"but {spec.name} handles only {', '.join(t.__name__ for t in spec.action_spaces)} actions",
        f"use an algorithm that handles it ({', '.join(sorted(fits))})" if fits else None,
    )


register(AlgoSpec("ppo", PPO, _ON_POLICY_SPACES, "Proximal Policy Optimisation (stable-baselines3)"))
register(AlgoSpec("a2c", A2C, _ON_POLICY_SPACES, "Advantage Actor-Critic (stable-baselines3)"))
register(AlgoSpec("dqn", DQN, (spaces.Discrete,), "Deep Q-Network (stable-baselines3)"))

# Modules that register further algorithms when imported. A module that is not
# there yet (work in progress) is skipped; any other import error surfaces.
_PLUGINS = ("agents.algorithms.policy_gradient", "agents.algorithms.imitation")
_plugins_loaded = False


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    import importlib

    for module in _PLUGINS:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise
