"""``gymsuite probe``: end to end on a tiny image agent, and its errors (exit 2, one message, no traceback)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gymsuite.commands import _cli, probe, train
from tests.toy_envs import TOY_FILE

ROOT = Path(__file__).resolve().parents[2]
SLIDER = f"{TOY_FILE}:Slider"


@pytest.fixture(scope="module")
def slider_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PPO with ICM's CNN on Slider (image of the position; state [position, velocity]), 128 steps."""
    run = tmp_path_factory.mktemp("probe") / "slider"
    assert _cli.run(train.main, ["--algo", "ppo", "--env", SLIDER, "--timesteps", "128", "--n-envs", "2",
                                 "--run-dir", str(run), "--eval-freq", "0", "--hyperparams", "n_steps=64",
                                 "batch_size=64", "n_epochs=1", "policy=CnnPolicy",
                                 "policy_kwargs={features_extractor_class: icm_cnn, "
                                 "features_extractor_kwargs: {features_dim: 32}, net_arch: [16]}"]) == 0
    return run


def test_probe_reads_the_shown_position_not_the_hidden_velocity(slider_run: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert _cli.run(probe.main, [str(slider_run), "--episodes", "12", "--seed", "3", "--json", "--random-init"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["variables"] == ["position", "velocity"] and result["features"] == 32
    assert result["samples"] == 12 * 20 and result["train_samples"] + result["test_samples"] == 240
    assert result["test_samples"] % 20 == 0 and result["test_samples"] > 0  # whole episodes held out
    for scores in (result["r2"], result["r2_random_init"]):
        assert scores["position"] > 0.5  # the image shows it: even a random CNN's features give it linearly
        assert scores["velocity"] < scores["position"] - 0.2  # never drawn, only correlated with where it is


def test_probe_prints_a_table_without_json(slider_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert _cli.run(probe.main, [str(slider_run), "--episodes", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[2:]] == ["position", "velocity"]
    assert all(-10 < float(line.split()[1]) <= 1 for line in lines[2:])


def test_fewer_training_steps_than_features_is_refused_with_the_episodes_that_suffice(
        slider_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    # 2 episodes of 20 steps: one trains the probe (20 steps) for the encoder's 32 features
    assert _cli.run(probe.main, [str(slider_run), "--episodes", "2", "--random-init"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    counts = [int(n) for n in re.findall(r"(\d+) (?:training steps|features)", captured.err)]
    assert counts == [20, 32] and "--episodes 3 " in captured.err  # 3 episodes: 2 train the probe, 40 steps
    assert _cli.run(probe.main, [str(slider_run), "--episodes", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["train_samples"] == 40 >= result["features"] == 32


def test_a_benchmark_may_ask_for_the_episodes_that_suffice(slider_run: Path) -> None:
    from gymsuite.agents.saved.loading import load_agent, make_agent_env
    from gymsuite.agents.saved.probing import probe_agent

    agent = load_agent(str(slider_run))
    venv = make_agent_env(agent, seed=3)
    try:
        result = probe_agent(agent, venv, 2, seed=3, more_if_needed=True)
    finally:
        venv.close()
    assert result["episodes"] >= 3 and result["samples"] == 20 * result["episodes"]
    assert result["train_samples"] >= result["features"] == 32


@pytest.mark.parametrize(("argv", "needle"), [
    (["{run}", "--env", f"{TOY_FILE}:Corridor"], "env.unwrapped.state"),  # same spaces, no state
    (["{run}", "--episodes", "1"], "at least 2"),
    (["random", "--env", SLIDER], "trained agent"),
    (["nowhere"], "no such run directory"),
])
def test_probe_errors_are_one_message(slider_run: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                      needle: str) -> None:
    capsys.readouterr()
    assert _cli.run(probe.main, [a.format(run=slider_run) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err and "Traceback" not in err


def test_probe_script_runs_as_a_file(tmp_path: Path) -> None:
    # PYTHONPATH: the shared virtualenv may have another checkout of gymsuite installed (a git worktree's case)
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "probe.py"), "nowhere"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2 and proc.stderr.startswith("error: no such run directory")
