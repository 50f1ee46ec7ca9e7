"""The algorithm registry: ``name -> AlgoSpec``, from modules imported by name here.

Every algorithm gymsuite can train is one :class:`gymsuite.agents.algorithms.spec.AlgoSpec`. The
training pipeline (``agents/pipeline/training.py``) only talks to this interface, so adding
an algorithm is one module that defines its specs and one entry in :data:`_REGISTRY` below.
The modules are imported explicitly: a misspelt or broken one fails at import, loudly.
"""

from __future__ import annotations

from collections.abc import Iterable

from gymnasium import spaces
from sb3_contrib import RecurrentPPO
from stable_baselines3 import A2C, DQN, PPO

from gymsuite.agents.algorithms import imitation, policy_gradient
from gymsuite.agents.algorithms.spec import RUN_KEYS, AlgoSpec
from gymsuite.agents.multiagent import mappo, selfplay
from gymsuite.common.errors import UserError, closest_hint

__all__ = ["RUN_KEYS", "AlgoSpec", "available", "check_action_space", "get", "recurrent_names"]

_ON_POLICY_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)
_SB3 = (AlgoSpec("ppo", PPO, _ON_POLICY_SPACES, "Proximal Policy Optimisation (stable-baselines3)",
                 recurrent=RecurrentPPO),
        AlgoSpec("a2c", A2C, _ON_POLICY_SPACES, "Advantage Actor-Critic (stable-baselines3)"),
        AlgoSpec("dqn", DQN, (spaces.Discrete,), "Deep Q-Network (stable-baselines3)"))


def _table(*groups: Iterable[AlgoSpec]) -> dict[str, AlgoSpec]:
    """``name -> spec`` over ``groups``; a name used twice is a bug."""
    table: dict[str, AlgoSpec] = {}
    for group in groups:
        for spec in group:
            if spec.name in table:
                raise ValueError(f"algorithm {spec.name!r} is registered twice")
            table[spec.name] = spec
    return table


_REGISTRY = _table(_SB3, policy_gradient.SPECS, imitation.SPECS, mappo.SPECS, selfplay.SPECS)


def available() -> list[str]:
    """Registered algorithm names, sorted."""
    return sorted(_REGISTRY)


def get(name: str) -> AlgoSpec:
    """Look up an algorithm by name (case-insensitive); unknown names get suggestions."""
    key = name.lower()
    if key not in _REGISTRY:
        raise UserError(f"unknown algorithm {name!r}", closest_hint(key, sorted(_REGISTRY), "choose one of", n=3))
    return _REGISTRY[key]


def recurrent_names() -> list[str]:
    """The algorithms that train ``backbone=lstm`` (a recurrent class), sorted."""
    return sorted(name for name, spec in _REGISTRY.items() if spec.recurrent is not None)


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
