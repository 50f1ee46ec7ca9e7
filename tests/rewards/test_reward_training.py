"""The reward features through the user's commands: train.py --reward-shaping / --curiosity, resume, evaluate."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from gymsuite.agents.files.rundir import RunDir
from gymsuite.agents.run.config import build_config
from gymsuite.agents.run.training import resume, train
from gymsuite.commands import _cli, evaluate
from gymsuite.commands import train as train_command
from gymsuite.common.files import read_yaml
from gymsuite.rewards import curiosity
from tests.interrupts import interrupt_after

ROOT = Path(__file__).resolve().parents[2]
SHAPING = ROOT / "examples" / "shaping" / "sparsegrid_potential.yaml"


def columns(run: Path) -> set[str]:
    with (run / "logs" / "progress.csv").open() as f:
        return set(next(csv.reader(f)))


def test_shaping_run_logs_each_term_and_evaluates_on_the_env_reward(in_tmp: Path) -> None:
    cfg = build_config({"algo": "ppo", "env": "gymsuite/SparseGrid-v0", "timesteps": 4096, "n_envs": 4,
                        "eval_episodes": 2, "eval_freq": 0, "reward_shaping": str(SHAPING)},
                       overrides=["n_steps=64", "batch_size=64", "n_epochs=1"])
    result = train(cfg, "run")
    cols = columns(in_tmp / "run")
    assert {"shaping/closer", "rollout/ep_rew_mean"} <= cols
    # The env's own reward is 1 at the goal and 0 elsewhere; the shaping terms (which telescope
    # to about +1 - Phi(s0) per successful episode) never reach eval.json.
    assert result.eval["mean_return"] in (0.0, 0.5, 1.0)


def test_a_run_that_sets_no_gamma_is_checked_against_its_algorithms_default(
        in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A2C's ``default`` entry sets no gamma: the agent discounts with SB3's 0.99, and terms written for 0.95
    are warned about (they were not compared with anything before)."""
    (in_tmp / "terms.yaml").write_text(SHAPING.read_text().replace("gamma: 0.99", "gamma: 0.95"))
    args = ["--algo", "a2c", "--env", "gymsuite/SparseGrid-v0", "--timesteps", "64", "--n-envs", "2",
            "--eval-freq", "0", "--eval-episodes", "1", "--checkpoint-freq", "0", "--reward-shaping", "terms.yaml"]
    assert _cli.run(train_command.main, [*args, "--run-dir", "run"]) == 0
    assert "terms.closer discounts with gamma 0.95 and the agent with 0.99" in capsys.readouterr().err
    assert _cli.run(train_command.main, [*args, "--run-dir", "same", "--hyperparams", "gamma=0.95"]) == 0
    assert "discounts with gamma" not in capsys.readouterr().err


def test_mountaincar_dqn_shapes_by_default_records_the_terms_and_none_turns_them_off(
        in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The gymsuite preset's MountainCar-v0 DQN entry carries its shaping: the run trains with it, config.yaml
    records the terms themselves (a rerun from it shapes the same), and ``--reward-shaping none`` trains without;
    another agent gamma than the terms' is warned about."""
    base = ["--algo", "dqn", "--env", "MountainCar-v0", "--timesteps", "2048", "--n-envs", "2", "--eval-freq", "0",
            "--eval-episodes", "1", "--checkpoint-freq", "0", "--hyperparams", "learning_starts=256"]
    assert _cli.run(train_command.main, [*base, "--run-dir", "shaped"]) == 0
    recorded = read_yaml(in_tmp / "shaped" / "config.yaml")
    assert recorded["reward_shaping"]["terms"]["energy"]["potential"] == "mountaincar_energy"
    assert "reward_shaping" not in recorded["hyperparams"] and recorded["preset"] == "gymsuite"
    assert "shaping/energy" in columns(in_tmp / "shaped")
    assert build_config({}, in_tmp / "shaped" / "config.yaml").shaping == recorded["reward_shaping"]
    assert _cli.run(train_command.main, [*base, "--run-dir", "plain", "--reward-shaping", "none"]) == 0
    plain = read_yaml(in_tmp / "plain" / "config.yaml")
    assert plain["reward_shaping"] == "none" and "shaping/energy" not in columns(in_tmp / "plain")
    assert build_config({}, in_tmp / "plain" / "config.yaml").shaping is None  # a rerun stays unshaped
    capsys.readouterr()
    assert _cli.run(train_command.main, [*base, "gamma=0.98", "--run-dir", "g"]) == 0  # the terms are for 0.99
    assert "terms.energy discounts with gamma 0.99 and the agent with 0.98" in capsys.readouterr().err


def test_curiosity_run_saves_its_model_resumes_and_evaluates(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = build_config({"algo": "pg", "env": "gymsuite/SparseGrid-v0", "timesteps": 4096, "n_envs": 4,
                        "eval_episodes": 2, "eval_freq": 0, "checkpoint_freq": 1024, "curiosity": "rnd",
                        "curiosity_kwargs": {"update_every": 128, "seed": 0}},
                       overrides=["version=3.5-td", "n_steps=64"])
    release = interrupt_after(monkeypatch, 2100)
    first = train(cfg, "run")
    assert first.interrupted
    run = RunDir(in_tmp / "run")
    ckpt = run.latest_checkpoint()
    assert ckpt is not None and run.checkpoint(ckpt, "_curiosity.pt").is_file()
    release()

    second = resume("run")
    assert not second.interrupted and second.steps >= 4096
    state = torch.load(run.curiosity, weights_only=True)
    # one update per rollout of 64 x 4 steps: 16 in all, only if the resume carried the first 8 over
    assert state["method"] == "rnd" and state["updates"] == 4096 // 256
    assert {"curiosity/ep_intrinsic_mean", "curiosity/intrinsic_std", "rollout/ep_rew_mean"} <= columns(run.root)
    assert _cli.run(evaluate.main, ["run", "--episodes", "2", "--json"]) == 0


def test_a_run_resumes_with_the_feature_size_its_curiosity_model_was_built_with(
        in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ICM's default feature size on vectors went from 64 to 32: a run that left it to the default keeps its own."""
    cfg = build_config({"algo": "pg", "env": "gymsuite/SparseGrid-v0", "timesteps": 2048, "n_envs": 4,
                        "eval_episodes": 2, "eval_freq": 0, "checkpoint_freq": 512, "curiosity": "icm",
                        "curiosity_kwargs": {"update_every": 128, "seed": 0}},
                       overrides=["version=3.5-td", "n_steps=64"])
    default = curiosity._ICM_VECTOR_FEATURES
    release = interrupt_after(monkeypatch, 1100)
    monkeypatch.setattr(curiosity, "_ICM_VECTOR_FEATURES", 64)  # the default the run was trained under
    assert train(cfg, "run").interrupted
    release()
    monkeypatch.setattr(curiosity, "_ICM_VECTOR_FEATURES", default)
    second = resume("run")
    assert not second.interrupted and second.steps >= 2048
    state = torch.load(RunDir(in_tmp / "run").curiosity, weights_only=True)
    assert state["options"]["features"] == 64 and state["updates"] == 2048 // 256
    assert "features" not in read_yaml(in_tmp / "run" / "config.yaml")["curiosity_kwargs"]


@pytest.mark.parametrize("argv, message", [
    (["--curiosity", "icn"], "did you mean 'icm'"),
    (["--curiosity", "icm", "--curiosity-kwargs", "betta=0.1"], "did you mean 'beta'"),
    (["--reward-shaping", "missing.yaml"], "missing.yaml"),
])
def test_bad_reward_options_stop_before_the_run_dir(in_tmp: Path, capsys: pytest.CaptureFixture, argv: list[str],
                                                    message: str) -> None:
    from gymsuite.commands import train as train_script

    base = ["--algo", "ppo", "--env", "gymsuite/SparseGrid-v0", "--timesteps", "256", "--run-dir", "r"]
    assert _cli.run(train_script.main, base + argv) == 2
    assert message in capsys.readouterr().err
    assert not (in_tmp / "r").exists()


def test_pg_version_trains_evaluates_and_records_from_the_scripts(in_tmp: Path, capsys: pytest.CaptureFixture) -> None:
    from gymsuite.commands import record as record_video
    from gymsuite.commands import train as train_script

    argv = ["--algo", "pg", "--env", "CartPole-v1", "--hyperparams", "version=3.5-td", "--timesteps", "1024",
            "--run-dir", "pg", "--eval-episodes", "2", "--eval-freq", "0"]
    assert _cli.run(train_script.main, argv) == 0
    assert _cli.run(evaluate.main, ["pg", "--episodes", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["episodes"] == 2 and out["mean_return"] >= 8
    assert _cli.run(record_video.main, ["pg", "--out", "pg.mp4"]) == 0
    assert (in_tmp / "pg.mp4").stat().st_size > 1000
    from gymsuite.agents.algorithms.policy_gradient import PolicyGradient

    assert PolicyGradient.load(in_tmp / "pg" / "model.zip").version == "3.5-td"
