"""The algorithm registry: every algorithm module's specs, imported explicitly, looked up by name."""

from __future__ import annotations

import inspect
import json
import pkgutil
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from gymnasium import spaces
from stable_baselines3 import PPO

import gymsuite.agents.algorithms
from gymsuite.agents.algorithms import imitation, policy_gradient, registry
from gymsuite.agents.algorithms.spec import AlgoSpec, TrainContext
from gymsuite.agents.multiagent import mappo, selfplay
from gymsuite.agents.run.config import build_config
from gymsuite.agents.saved.loading import load_agent
from gymsuite.commands import _cli, evaluate, train
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


def test_the_discount_is_the_runs_gamma_else_the_model_class_default() -> None:
    """What shaping's gamma check compares with: a run that sets no gamma still has one (SB3's 0.99, DQN's too)."""
    assert registry.get("ppo").discount({}) == 0.99 and registry.get("dqn").discount({"gamma": 0.98}) == 0.98
    assert registry.get("pg").discount({"gamma": "0.9"}) == 0.9


def test_algorithms_with_their_own_learn_take_the_typed_context() -> None:
    learners = [registry.get(name).learn for name in registry.available() if registry.get(name).learn is not None]
    assert len(learners) == 5  # bc, dagger, gail, airl, selfplay
    for learn in learners:
        assert inspect.signature(learn).parameters["ctx"].annotation in (TrainContext, "TrainContext")


# --------------------------------------------------------------------------- a new algorithm is one spec


class TinyPPO(PPO):
    """A PPO variant under its own name: what a new algorithm module would define."""


@pytest.fixture
def tiny_ppo() -> Iterator[AlgoSpec]:
    """``tinyppo`` registered through the documented function, and removed again."""
    spec = AlgoSpec("tinyppo", TinyPPO, (spaces.Discrete, spaces.Box), "PPO under another name (a test's plug-in)",
                    window=True, zip_classes=("TinyPPO",))
    registry.register(spec)
    yield spec
    registry.unregister(spec.name)
    assert "tinyppo" not in registry.available()


def test_a_registered_algorithm_trains_evaluates_and_loads_from_a_bare_zip(
        tiny_ppo: AlgoSpec, in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--algo", "tinyppo", "--env", "CartPole-v1", "--timesteps", "256", "--run-dir", "run", "--eval-episodes",
            "2", "--eval-freq", "0", "--hyperparams", "n_steps=64", "batch_size=32", "n_epochs=1",
            "backbone=framestack", "backbone_kwargs={context: 2}"]  # a capability the spec declares
    code, err = _cli.run(train.main, argv), capsys.readouterr().err
    assert code == 0, err
    assert json.loads(Path("run/eval.json").read_text())["episodes"] == 2
    assert _cli.run(evaluate.main, ["run", "--episodes", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["episodes"] == 2
    Path("bare").mkdir()
    shutil.copy("run/model.zip", "bare/model.zip")  # no config.yaml beside it: the zip alone says what it is
    agent = load_agent("bare/model.zip", env="CartPole-v1")
    assert agent.algo == "tinyppo" and type(agent.model) is TinyPPO
    assert agent.model.num_timesteps == 256
    with pytest.raises(UserError, match="bc cannot take the transformer backbone") as err:  # the derived list
        build_config({"algo": "bc", "env": "CartPole-v1"}, overrides=["backbone=transformer"])
    assert err.value.message.endswith("window backbones work with ppo, a2c, dqn, pg, tinyppo")
