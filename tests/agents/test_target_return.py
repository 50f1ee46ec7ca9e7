"""--target-return: a run stops at the first periodic evaluation that reaches the target, and says when."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from stable_baselines3 import PPO

from gymsuite import api
from gymsuite.agents.run import training
from gymsuite.agents.run.config import build_config
from gymsuite.agents.saved.evaluation import pooled
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


def _scripted(periodic: float, confirmation: float, calls: list[int]) -> Callable[..., dict[str, Any]]:
    """An ``evaluate`` whose 5-episode evaluations score ``periodic`` and whose 7-episode ones ``confirmation``."""
    def fake(agent: object, venv: object, episodes: int, deterministic: bool = True,
             actor: object = None) -> dict[str, Any]:
        calls.append(episodes)
        value = periodic if episodes == 5 else confirmation
        return {"mean_return": value, "std_return": 0.0, "episodes": episodes, "mean_length": 10.0,
                "min_return": value, "max_return": value, "returns": [value] * episodes, "capped_episodes": 0,
                "deterministic": True, "algo": "ppo", "env": "CartPole-v1", "seconds": 0.01}
    return fake


@pytest.mark.parametrize(("confirmation", "reached"), [(300.0, False), (490.0, True)])
def test_an_evaluation_reaching_the_target_is_confirmed_over_more_episodes(
        confirmation: float, reached: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 5 lucky episodes at 480 then 7 more at 300 pool to 370: not solved, the run goes on; at 490, 486: solved.
    calls: list[int] = []
    monkeypatch.setattr(training, "evaluate", _scripted(480.0, confirmation, calls))
    run = api.train("ppo", "CartPole-v1", timesteps=256, n_envs=2, eval_freq=128, eval_episodes=7,
                    target_return=475, hyperparams={"n_steps": 32, "batch_size": 64}, run_dir=tmp_path / "run")
    assert run.eval["target_reached"] is reached
    assert calls == ([5, 7, 7] if reached else [5, 7, 5, 7, 7])  # each periodic evaluation confirmed; the final one
    assert run.steps == (128 if reached else 256)


def test_a_policy_is_evaluated_once_however_long_its_rollout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Rollouts of 256 steps (2 envs x 128) and an evaluation due every 64: the policy changes only between rollouts,
    # so the periodic evaluations are the first policy's at 64 and each update's at the next env step, not 12.
    steps: list[tuple[int, int]] = []
    scripted = _scripted(100.0, 100.0, [])

    def fake(agent: Any, venv: object, episodes: int, *args: Any, **kwargs: Any) -> dict[str, Any]:
        steps.append((int(agent.model.num_timesteps), int(agent.model._n_updates)))
        return scripted(agent, venv, episodes)

    monkeypatch.setattr(training, "evaluate", fake)
    api.train("ppo", "CartPole-v1", timesteps=768, n_envs=2, eval_freq=64, target_return=475,
              hyperparams={"n_steps": 128, "batch_size": 64, "n_epochs": 2}, run_dir=tmp_path / "run")
    assert steps == [(64, 0), (258, 2), (514, 4), (768, 6)]  # the last: the final evaluation, after the last update


def test_pooled_is_the_summary_over_both_evaluations_episodes() -> None:
    calls: list[int] = []
    five, seven = _scripted(480.0, 300.0, calls)(None, None, 5), _scripted(480.0, 300.0, calls)(None, None, 7)
    five["capped_episodes"], seven["success_rate"], five["success_rate"] = 1, 0.0, 1.0
    both = pooled(five, seven)
    assert both["episodes"] == 12 and both["returns"] == [480.0] * 5 + [300.0] * 7
    assert both["mean_return"] == pytest.approx((5 * 480 + 7 * 300) / 12)
    assert both["std_return"] == pytest.approx(float(np.std([480.0] * 5 + [300.0] * 7)))
    assert (both["min_return"], both["max_return"], both["capped_episodes"]) == (300.0, 480.0, 1)
    assert both["success_rate"] == pytest.approx(5 / 12) and both["seconds"] == pytest.approx(0.02)


def test_a_periodic_evaluation_below_the_target_plays_only_its_5_episodes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(training, "evaluate", _scripted(100.0, 490.0, calls))
    run = api.train("ppo", "CartPole-v1", timesteps=256, n_envs=2, eval_freq=128, eval_episodes=7,
                    target_return=475, hyperparams={"n_steps": 32, "batch_size": 64}, run_dir=tmp_path / "run")
    assert calls == [5, 5, 7] and not run.eval["target_reached"]


def test_confirmations_and_the_final_evaluation_play_their_episodes_side_by_side(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 5 periodic episodes on the 5 evaluation envs; the 7 confirming ones and the final 7 in one round of 7 envs
    widths: list[tuple[int, int]] = []
    scripted = _scripted(480.0, 490.0, [])

    def fake(agent: object, venv: Any, episodes: int, *args: Any, **kwargs: Any) -> dict[str, Any]:
        widths.append((episodes, venv.num_envs))
        return scripted(agent, venv, episodes)

    monkeypatch.setattr(training, "evaluate", fake)
    run = api.train("ppo", "CartPole-v1", timesteps=256, n_envs=2, eval_freq=128, eval_episodes=7,
                    target_return=475, hyperparams={"n_steps": 32, "batch_size": 64}, run_dir=tmp_path / "run")
    assert run.eval["target_reached"] and widths == [(5, 5), (7, 7), (7, 7)]
    widths.clear()  # without a target: the periodic and the final evaluation on the 5 envs, as before
    api.train("ppo", "CartPole-v1", timesteps=128, n_envs=2, eval_freq=128, eval_episodes=7,
              hyperparams={"n_steps": 32, "batch_size": 64}, run_dir=tmp_path / "plain")
    assert widths == [(5, 5), (7, 5)]
