"""The user's commands, run in-process with tiny budgets: exit codes, output and error messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import pytest
import yaml

from gymsuite.commands import _cli, check_env, collect_demos, evaluate, train
from gymsuite.commands import record as record_video
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
        (["--algo", "ppo", "--env", "CartPol-v1"], "did you mean 'CartPole-v1'"),
        (["--algo", "ppx", "--env", "CartPole-v1"], "unknown algorithm 'ppx'"),
        (["--algo", "dqn", "--env", "Pendulum-v1"], "dqn cannot act in Pendulum-v1"),
        (["--algo", "ppo", "--env", "CartPole-v1", "--hyperparams", "n_stepz=3"], "unknown hyperparameter 'n_stepz'"),
        (["--algo", "ppo", "--env", "CartPole-v1", "--timesteps", "-10"], "timesteps must be an integer >= 1"),
        (["--algo", "ppo", "--env", "CartPole-v1", "--timesteps", "0"], "bad value for setting 'timesteps': 0"),
        (["--algo", "ppo", "--env", "CartPole-v1", "--n-envs", "0"], "bad value for setting 'n_envs': 0"),
        (["--algo", "ppo", "--env", "CartPole-v1", "--eval-freq", "-3"], "bad value for setting 'eval_freq'"),
        (["--algo", "ppo", "--env", "CartPole-v1", "--hyperparams", "normalize=nope"], "bad value for 'normalize'"),
        (["--algo", "ppo", "--env", "CartPole-v1", "--hyperparams", "ent_coef=.nan"], "'ent_coef': nan"),
        (["--algo", "a2c", "--env", "CartPole-v1", "--hyperparams", "learning_rate=.inf"], "'learning_rate': inf"),
        (["--algo", "ppo", "--env", f"{TOY_FILE}:Counter", "--no-check", "--video"], "cannot render frames"),
        (["--algo", "ppo", "--env", f"{TOY_FILE}:Counter", "--no-check", "--pixels"], "cannot render frames"),
        (["--algo", "ppo", "--env", "no_module_abc:Env"], "cannot import module"),
        (["--algo", "ppo", "--env", "CartPole-v1", "--pixels", "--hyperparams", "pixels={stack: 0}"],
         "bad value for pixels option 'stack'"),
        (["--algo", "ppo", "--env", "MiniGrid-Empty-5x5-v0", "--hyperparams", "minigrid={veiw: rgb}"],
         "did you mean 'view'"),
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
    message, fix = capsys.readouterr().err.split("fix:")
    assert "does not fit Acrobot-v1" in message and "CartPole-v1" in fix  # the hint names the run's env
    broken = tmp_path / "model.zip"
    broken.write_bytes((cartpole_run / "model.zip").read_bytes()[:2000])
    assert run(evaluate.main, [str(broken), "--env", "CartPole-v1", "--algo", "ppo"]) == 2
    assert "corrupt or truncated" in capsys.readouterr().err
    assert run(evaluate.main, [str(tmp_path / "nothing")]) == 2


def test_debug_flag_shows_the_traceback(in_tmp: Path) -> None:
    from gymsuite.common.errors import UserError

    with pytest.raises(UserError):
        run(train.main, ["--algo", "ppx", "--env", "CartPole-v1", "--debug"])


def test_scripts_run_as_files_from_anywhere(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "train.py"), "--list-algos"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0 and "ppo" in proc.stdout and "dqn" in proc.stdout
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "evaluate.py"), "nowhere"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2 and proc.stderr.startswith("error: no such run directory")


def last_json(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_image_agent_trains_evaluates_and_records(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # SB3 transposes (12, 12, 3) images to (3, 12, 12) for the model; evaluate and record used to refuse it.
    corridor = f"{TOY_FILE}:Corridor"
    assert run(train.main, ["--algo", "ppo", "--env", corridor, "--timesteps", "128", "--n-envs", "2",
                            "--run-dir", "r", "--eval-episodes", "2", "--eval-max-episode-steps", "30", "--hyperparams",
                            "n_steps=64", "batch_size=32", "n_epochs=1", "policy=CnnPolicy",
                            "policy_kwargs={features_extractor_class: icm_cnn, net_arch: [16]}"]) == 0
    assert last_json(capsys)["run_dir"] == "r"
    config = yaml.safe_load(Path("r/config.yaml").read_text())  # the backbone stays a name: plain data
    assert config["hyperparams"]["policy_kwargs"]["features_extractor_class"] == "icm_cnn"
    assert run(evaluate.main, ["r", "--json", "--episodes", "3", "--max-episode-steps", "30"]) == 0
    result = last_json(capsys)
    assert result["episodes"] == 3 and set(result["returns"]) <= {0.0, 1.0} and result["mean_length"] <= 30
    assert run(evaluate.main, ["r", "--best", "--json", "--episodes", "1", "--max-episode-steps", "30"]) == 0
    assert run(record_video.main, ["r", "--out", "corridor.mp4", "--max-episode-steps", "30"]) == 0
    frames = iio.imread("corridor.mp4")
    assert frames.shape[1:] == (48, 48, 3) and 2 <= len(frames) <= 31
    assert iio.immeta("corridor.mp4")["fps"] == 10  # Corridor's render_fps, through the transposing wrapper
    assert run(evaluate.main, ["r", "--env", "CartPole-v1"]) == 2
    assert corridor in capsys.readouterr().err.split("fix:")[1]


def warnings_in(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning: ")]


def test_evaluation_of_a_never_ending_episode_is_capped(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    counter = f"{TOY_FILE}:Counter"  # never terminates, has no time limit: evaluate used to hang
    assert run(evaluate.main, ["random", "--env", counter, "--episodes", "2", "--max-episode-steps", "30",
                               "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out.strip().splitlines()[-1])
    assert result["returns"] == [30.0, 30.0] and result["capped_episodes"] == 2 and len(warnings_in(err)) == 1
    assert run(evaluate.main, ["random", "--env", counter, "--episodes", "1", "--json"]) == 0  # the default cap
    result = last_json(capsys)
    assert result["mean_length"] == 10_000 and result["capped_episodes"] == 1
    assert run(evaluate.main, ["random", "--env", "CartPole-v1", "--episodes", "2", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["capped_episodes"] == 0 and not warnings_in(err)  # its own limit (500) decides
    assert run(evaluate.main, ["random", "--env", counter, "--max-episode-steps", "0"]) == 2


def test_collecting_demos_of_a_never_ending_episode_is_capped(in_tmp: Path) -> None:
    from stable_baselines3 import PPO

    from gymsuite.agents.data.demos import load_demos
    from tests.toy_envs import Counter

    PPO("MlpPolicy", Counter(), n_steps=16, batch_size=16).save("expert.zip")  # Counter never ends: this used to hang
    counter = f"{TOY_FILE}:Counter"
    assert run(collect_demos.main, ["expert.zip", "--env", counter, "--episodes", "2", "--max-episode-steps", "25",
                                    "--out", "demos.npz"]) == 0
    demos = load_demos("demos.npz")
    assert demos.lengths.tolist() == [25, 25] and demos.truncated.all() and not demos.terminated.any()
    assert run(collect_demos.main, ["expert.zip", "--env", counter, "--max-episode-steps", "0", "--out", "x.npz"]) == 2
    assert not Path("x.npz").exists()


def test_recording_is_capped_and_keeps_the_env_frame_rate(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(record_video.main, ["random", "--env", "CartPole-v1", "--episodes", "2", "--max-episode-steps",
                                   "5", "--out", "capped.mp4"]) == 0
    out, err = capsys.readouterr()
    assert "5.0, 5.0" in out and len(warnings_in(err)) == 1  # a random CartPole cannot fall within 5 steps
    assert 10 <= len(iio.imread("capped.mp4")) <= 11  # the first frame, then 5 per episode (decoders may drop one)
    assert iio.immeta("capped.mp4")["fps"] == 50  # CartPole's render_fps (the guard wrapper dropped it: 30)


def test_periodic_evaluation_in_training_is_capped(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(train.main, ["--algo", "ppo", "--env", f"{TOY_FILE}:Counter", "--timesteps", "128", "--n-envs",
                            "1", "--run-dir", "r", "--eval-episodes", "2", "--eval-freq", "64",
                            "--eval-max-episode-steps", "20", "--no-check", "--hyperparams", "n_steps=64",
                            "batch_size=32", "n_epochs=1"]) == 0
    assert warnings_in(capsys.readouterr().err)
    result = json.loads(Path("r/eval.json").read_text())
    assert result["returns"] == [20.0, 20.0] and result["capped_episodes"] == 2


def test_timesteps_are_rounded_up_to_whole_rollouts(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 2 envs x 32 steps: PPO stops only between rollouts, so 100 steps train 128 (the bar used to say 100/100).
    assert run(train.main, ["--algo", "ppo", "--env", "CartPole-v1", "--timesteps", "100", "--n-envs", "2",
                            "--run-dir", "r", "--eval-episodes", "1", "--hyperparams", "n_steps=32",
                            "batch_size=64"]) == 0
    assert "128" in capsys.readouterr().err
    assert yaml.safe_load(Path("r/config.yaml").read_text())["timesteps"] == 128
    assert json.loads(Path("r/eval.json").read_text())["timesteps"] == 128
