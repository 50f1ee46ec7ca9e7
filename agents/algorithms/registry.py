"""The algorithm registry: ``name -> AlgoSpec``, from modules imported by name here.

Every algorithm gymsuite can train is one :class:`gymsuite.agents.algorithms.spec.AlgoSpec`. The rest of
gymsuite only talks to this interface and asks the registry what the specs declare (which algorithms
train multi-agent envs, which one saved a zip, which classes a zip may name...), so adding an algorithm
is one module that defines its specs and one entry in :data:`_REGISTRY` below (plus its defaults in
``agents/hyperparams/<name>.yml``, and optionally a search space). The modules are imported explicitly:
a misspelt or broken one fails at import, loudly. :func:`register` adds a spec at run time (a user's own
algorithm, or a test's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gymnasium import spaces
from sb3_contrib import RecurrentPPO
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

from gymsuite.agents.algorithms import imitation, policy_gradient
from gymsuite.agents.algorithms.spec import PARALLEL, RUN_KEYS, SINGLE, SPACES_DIR, AlgoSpec
from gymsuite.agents.multiagent import mappo, selfplay
from gymsuite.agents.multiagent.buffer import MASKED_BUFFERS
from gymsuite.common.errors import UserError, closest_hint

__all__ = ["RUN_KEYS", "AlgoSpec", "available", "check_action_space", "get", "names_for", "owner_of_key",
           "recurrent_names", "register", "saved_classes", "unregister", "zip_owner"]

_ON_POLICY_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)
_SB3 = (AlgoSpec("ppo", PPO, _ON_POLICY_SPACES, "Proximal Policy Optimisation (stable-baselines3)",
                 recurrent=RecurrentPPO, env_kinds=frozenset({SINGLE, PARALLEL}), window=True,
                 zip_classes=("PPO", "RecurrentPPO"), saved_classes=MASKED_BUFFERS, space=SPACES_DIR / "ppo.yml"),
        AlgoSpec("a2c", A2C, _ON_POLICY_SPACES, "Advantage Actor-Critic (stable-baselines3)", window=True,
                 zip_classes=("A2C",), space=SPACES_DIR / "a2c.yml"),
        AlgoSpec("dqn", DQN, (spaces.Discrete,), "Deep Q-Network (stable-baselines3)", window=True,
                 zip_classes=("DQN",), space=SPACES_DIR / "dqn.yml"))


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


def register(spec: AlgoSpec) -> None:
    """Add ``spec`` to the registry: from now on every command trains, loads, evaluates and tunes it by its name.

    Its defaults are read from ``agents/hyperparams/<name>.yml`` when that file exists (none: SB3's defaults).

    Raises:
        ValueError: the name is taken, is not lower case, or a zip class it claims is another algorithm's.
    """
    if spec.name in _REGISTRY or spec.name != spec.name.lower():
        raise ValueError(f"cannot register algorithm {spec.name!r}: the name is taken or not lower case")
    taken = {cls: s.name for s in _REGISTRY.values() for cls in s.zip_classes}
    clash = [cls for cls in spec.zip_classes if cls in taken]
    if clash:
        raise ValueError(f"cannot register {spec.name!r}: {taken[clash[0]]} already loads {clash[0]} zips")
    _REGISTRY[spec.name] = spec


def unregister(name: str) -> None:
    """Remove the algorithm ``name`` (added by :func:`register`) from the registry."""
    _REGISTRY.pop(name, None)


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


def names_for(*env_kinds: str) -> list[str]:
    """The algorithms that train on every one of ``env_kinds`` (:data:`~gymsuite.agents.algorithms.spec.SINGLE`...),
    in registry order (gymsuite's own algorithms first)."""
    return [name for name, spec in _REGISTRY.items() if set(env_kinds) <= spec.env_kinds]


def window_names() -> list[str]:
    """The algorithms whose policy reads a window of observations (``framestack``, ``transformer``), in registry
    order; a variant's short name (``pg4``) only through the algorithm it is one of."""
    return [name for name, spec in _REGISTRY.items() if spec.window and spec.variant_of is None]


def zip_owner(algo_class: str | None) -> str | None:
    """The algorithm whose zips the class ``algo_class`` saves (:attr:`AlgoSpec.zip_classes`), or None."""
    return next((name for name, spec in _REGISTRY.items() if algo_class in spec.zip_classes), None)


def owner_of_key(key: str) -> list[str]:
    """The algorithms whose own run key (:attr:`AlgoSpec.run_keys`) ``key`` is, sorted."""
    return sorted(name for name, spec in _REGISTRY.items() if key in spec.run_keys)


def saved_classes() -> tuple[type, ...]:
    """Every class the registered algorithms' zips may name: their policy classes (of ``cls`` and the recurrent
    class) and their declared :attr:`AlgoSpec.saved_classes`, for the loader that never unpickles."""
    found: dict[type, None] = {}
    for spec in _REGISTRY.values():
        for cls in (spec.cls, spec.recurrent):
            found.update(dict.fromkeys(getattr(cls, "policy_aliases", {}).values()) if cls is not None else {})
        found.update(dict.fromkeys(spec.saved_classes))
    return tuple(found)


def rollout_hookable() -> list[str]:
    """The on-policy algorithms trained by SB3's own ``learn`` on one agent: those whose rollout and optimiser step
    the training-time hooks reach (adversarial rollouts, the smoothness regulariser, the domain classifier)."""
    return [n for n in available() if issubclass(get(n).cls, OnPolicyAlgorithm) and get(n).learn is None
            and n not in ("mappo", "selfplay")]


def check_rollout_hookable(what: str, algo: str, hyper: Mapping[str, Any]) -> None:
    """A :class:`UserError` when the run keys ``what`` cannot hook ``algo``'s training: an algorithm outside
    :func:`rollout_hookable`, an lstm backbone or a multi-agent run (the hooks take one feed-forward policy)."""
    if algo not in rollout_hookable():
        raise UserError(f"{what} cannot be used with {algo}", f"use one of {', '.join(rollout_hookable())}")
    if hyper.get("backbone") == "lstm" or hyper.get("multiagent"):
        kind = "backbone=lstm" if hyper.get("backbone") == "lstm" else "multi-agent runs"
        raise UserError(f"{what} cannot be used with {kind}", "train a feed-forward single-agent run")


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
