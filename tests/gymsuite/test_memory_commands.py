"""The memory tasks from the user's commands: a T-maze run with env_kwargs, masked runs, bad masking refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gymsuite.agents.saved.loading import load_agent
from gymsuite.commands import _cli, check_env, evaluate, train


def test_tmaze_trains_with_its_length_and_evaluates(in_tmp: Path) -> None:
    assert _cli.run(train.main, ["--algo", "ppo", "--env", "gymsuite/TMaze-v0", "--timesteps", "128", "--n-envs", "2",
                                 "--run-dir", "r", "--eval-episodes", "4",
                                 "--hyperparams", "env_kwargs={length: 3}", "n_steps=64"]) == 0
    result = json.loads(Path("r/eval.json").read_text())
    assert result["episodes"] == 4 and result["mean_length"] == 4  # L + 1 steps, every episode
    assert yaml.safe_load(Path("r/config.yaml").read_text())["hyperparams"]["env_kwargs"] == {"length": 3}


def test_masked_cartpole_run_records_the_key(in_tmp: Path) -> None:
    assert _cli.run(train.main, ["--algo", "ppo", "--env", "CartPole-v1", "--timesteps", "64", "--run-dir", "r",
                                 "--eval-episodes", "1", "--hyperparams", "mask_velocity=true", "n_steps=64",
                                 "batch_size=64", "n_envs=1"]) == 0
    assert yaml.safe_load(Path("r/config.yaml").read_text())["hyperparams"]["mask_velocity"] is True
    agent = load_agent("r")
    assert agent.model is not None and agent.model.observation_space.shape == (2,)  # x and theta
    assert _cli.run(evaluate.main, ["r", "--episodes", "1"]) == 0  # rebuilt masked from config.yaml


@pytest.mark.parametrize(("env", "extra"), [("gymsuite/SparseGrid-v0", []), ("MiniGrid-MemoryS7-v0", []),
                                            ("CartPole-v1", ["pixels=true"])])
def test_mask_velocity_on_an_env_it_cannot_mask_exits_2_and_writes_nothing(
        in_tmp: Path, capsys: pytest.CaptureFixture[str], env: str, extra: list[str]) -> None:
    assert _cli.run(train.main, ["--algo", "ppo", "--env", env, "--timesteps", "64", "--run-dir", "r",
                                 "--hyperparams", "mask_velocity=true", *extra]) == 2
    assert "mask_velocity" in capsys.readouterr().err and not Path("r").exists()


@pytest.mark.parametrize("env", ["gymsuite/CartPoleNoVel-v0", "gymsuite/PendulumNoVel-v0", "gymsuite/TMaze-v0"])
def test_check_env_passes_the_memory_ids(env: str) -> None:
    assert _cli.run(check_env.main, [env, "--render"]) == 0
