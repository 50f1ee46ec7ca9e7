"""The user's commands, run in-process with tiny budgets: exit codes, output and error messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gymsuite import _cli, check_env, evaluate, train
from gymsuite import record as record_video
from tests.toy_envs import TOY_FILE

ROOT = Path(__file__).resolve().parents[2]


def run(main, argv: list[str]) -> int:
    return _cli.run(main, argv)


def test_train_evaluate_record_round_trip(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(train.main, ["--algo", "ppo", "--env", "CartPole-v1", "--timesteps", "512", "--run-dir", "r",
                            "--eval-episodes", "2", "--video"]) == 0
    out = capsys.readouterr().out
    assert "mean return" in out and Path("r/videos/final.mp4").stat().st_size > 0
    assert run(evaluate.main, ["r", "--json", "--episodes", "2"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"mean_return", "std_return", "episodes"} <= result.keys() and result["episodes"] == 2
    assert run(record_video.main, ["r", "--out", "x.mp4"]) == 0 and Path("x.mp4").stat().st_size > 0
    assert run(record_video.main, ["random", "--env", "Acrobot-v1"]) == 0
    assert Path("videos/random-Acrobot-v1.mp4").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--algo", "ppo", "--env", "CartPol-v1"], "did you mean CartPole-v1"),
        (["--algo", "ppx", "--env", "CartPole-v1"], "unknown algorithm 'ppx'"),
        (["--algo", "dqn", "--env", "Pendulum-v1"], "dqn cannot act in Pendulum-v1"),
        (["--algo", "ppo", "--env", "CartPole-v1", "--hyperparams", "n_stepz=3"], "unknown hyperparameter 'n_stepz'"),
        (["--algo", "ppo", "--env", "CartPole-v1", "--timesteps", "-10"], "timesteps must be an integer >= 0"),
        (["--algo", "ppo", "--env", "no_module_abc:Env"], "cannot import module"),
    ],
)
def test_train_rejects_bad_input_cleanly(in_tmp: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                         message: str) -> None:
    assert run(train.main, [*argv, "--run-dir", "r"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not Path("r").exists() and not Path("runs").exists()


def test_broken_custom_env_gets_a_report(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = f"{TOY_FILE}:WrongResetShape"
    assert run(train.main, ["--algo", "ppo", "--env", bad, "--run-dir", "r"]) == 2
    err = capsys.readouterr().err
    assert "failed its check" in err and "--no-check" in err and not Path("r").exists()
    assert run(check_env.main, [bad]) == 1
    assert run(check_env.main, ["gymsuite/SparseGrid-v0", "--render"]) == 0


def test_evaluate_rejects_mismatched_env_and_corrupt_model(cartpole_run: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert run(evaluate.main, [str(cartpole_run), "--env", "Acrobot-v1"]) == 2
    assert "does not fit Acrobot-v1" in capsys.readouterr().err
    broken = tmp_path / "model.zip"
    broken.write_bytes((cartpole_run / "model.zip").read_bytes()[:2000])
    assert run(evaluate.main, [str(broken), "--env", "CartPole-v1", "--algo", "ppo"]) == 2
    assert "corrupt or truncated" in capsys.readouterr().err
    assert run(evaluate.main, [str(tmp_path / "nothing")]) == 2


def test_debug_flag_shows_the_traceback(in_tmp: Path) -> None:
    from common.errors import UserError

    with pytest.raises(UserError):
        run(train.main, ["--algo", "ppx", "--env", "CartPole-v1", "--debug"])


def test_scripts_run_as_files_from_anywhere(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "train.py"), "--list-algos"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0 and "ppo" in proc.stdout and "dqn" in proc.stdout
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "evaluate.py"), "nowhere"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2 and proc.stderr.startswith("error: no such run directory")
