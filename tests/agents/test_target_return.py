"""--target-return: a run stops at the first periodic evaluation that reaches the target, and says when."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from stable_baselines3 import PPO

from gymsuite import api
from gymsuite.agents.run.config import build_config
from gymsuite.common.errors import UserError
from gymsuite.envs.thresholds import max_return, target_return, threshold


def test_auto_is_the_env_threshold_and_the_config_records_the_number(tmp_path: Path) -> None:
    assert threshold("CartPole-v1") == 475 and threshold("Pendulum-v1") == -200
    assert threshold("gymsuite/PixelCartPole-v0") == 195 and threshold("gymsuite/SparseGrid-v0") is None
    assert max_return("CartPole-v1") == 500 and max_return("LunarLander-v3") is None
    cfg = build_config({"algo": "ppo", "env": "CartPole-v1", "target_return": "auto"})
    assert cfg.target_return == 475.0
    assert build_config({"algo": "ppo", "env": "CartPole-v1", "target_return": "300"}).target_return == 300.0
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"algo": "ppo", "env": "Pendulum-v1", "target_return": "auto"}))
    assert build_config({}, config).target_return == -200.0


@pytest.mark.parametrize(("value", "env", "extra", "message"), [
    ("auto", "gymsuite/SparseGrid-v0", {}, "has no reward threshold"),
    (501, "CartPole-v1", {}, "above the most CartPole-v1 can return (500)"),
    ("fast", "CartPole-v1", {}, "must be a number or auto"),
    (float("nan"), "CartPole-v1", {}, "finite"),
    (400, "CartPole-v1", {"eval_freq": 0}, "needs periodic evaluations"),
])
def test_bad_targets_are_refused_before_anything_is_written(value: object, env: str, extra: dict[str, int],
                                                             message: str, tmp_path: Path) -> None:
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        api.train("ppo", env, target_return=value, run_dir=tmp_path / "run", **extra)
    assert not (tmp_path / "run").exists()


def test_target_return_rejects_bools() -> None:
    with pytest.raises(UserError, match="finite number"):
        target_return(True, "CartPole-v1")


def test_a_reached_target_stops_the_run_at_that_evaluation_and_saves_its_model(tmp_path: Path) -> None:
    # A random CartPole policy lasts about 22 steps: a target of 9 is reached at the first evaluation.
    run = api.train("ppo", "CartPole-v1", timesteps=4096, n_envs=2, eval_freq=128, target_return=9,
                    hyperparams={"n_steps": 32, "batch_size": 64}, run_dir=tmp_path / "run")
    ev = run.eval
    assert ev["target_reached"] and ev["target_return"] == 9.0
    assert ev["target_steps"] == 128 == ev["timesteps"] == run.steps  # stopped there, not at 4096
    assert ev["target_seconds"] >= 0
    assert PPO.load(run.model_path).num_timesteps == 128  # the model saved is the one evaluated
    assert yaml.safe_load((run.dir / "config.yaml").read_text())["target_return"] == 9.0


def test_a_target_not_reached_trains_the_whole_budget(tmp_path: Path) -> None:
    run = api.train("ppo", "CartPole-v1", timesteps=256, n_envs=2, eval_freq=128, eval_episodes=2,
                    target_return=500, hyperparams={"n_steps": 32, "batch_size": 64}, run_dir=tmp_path / "run")
    assert not run.eval["target_reached"] and run.eval["target_steps"] is None and run.steps == 256
