"""The algorithm registry: every algorithm module's specs, imported explicitly, looked up by name."""

from __future__ import annotations

import inspect
import pkgutil

import pytest

import gymsuite.agents.algorithms
from gymsuite.agents.algorithms import imitation, policy_gradient, registry
from gymsuite.agents.algorithms.spec import AlgoSpec, TrainContext
from gymsuite.agents.multiagent import mappo, selfplay
from gymsuite.common.errors import UserError


def test_every_algorithm_module_is_registered_by_name() -> None:
    modules = {m.name for m in pkgutil.iter_modules(gymsuite.agents.algorithms.__path__)}
    with_specs = {name for name in modules
                  if hasattr(__import__(f"gymsuite.agents.algorithms.{name}", fromlist=["_"]), "SPECS")}
    assert with_specs == {"imitation", "policy_gradient"}  # a new module with SPECS needs an entry in registry.py
    expected = {"ppo", "a2c", "dqn"} | {s.name for s in (*policy_gradient.SPECS, *imitation.SPECS, *mappo.SPECS,
                                                          *selfplay.SPECS)}
    assert set(registry.available()) == expected and registry.available() == sorted(expected)
    assert {"bc", "dagger", "gail", "airl", "pg", "pg3.5-td", "mappo", "selfplay"} <= expected


def test_lookup_is_case_insensitive_and_suggests_close_names() -> None:
    assert registry.get("PPO") is registry.get("ppo")
    with pytest.raises(UserError, match="unknown algorithm 'dagerr'") as err:
        registry.get("dagerr")
    assert err.value.hint == "did you mean 'dagger'?"


def test_a_name_registered_twice_is_a_bug() -> None:
    spec = registry.get("ppo")
    with pytest.raises(ValueError, match="'ppo' is registered twice"):
        registry._table([spec], [AlgoSpec("ppo", spec.cls, spec.action_spaces, "again")])


def test_algorithms_with_their_own_learn_take_the_typed_context() -> None:
    learners = [registry.get(name).learn for name in registry.available() if registry.get(name).learn is not None]
    assert len(learners) == 5  # bc, dagger, gail, airl, selfplay
    for learn in learners:
        assert inspect.signature(learn).parameters["ctx"].annotation in (TrainContext, "TrainContext")
