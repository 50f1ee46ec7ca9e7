"""Inputs and faults that used to end in a traceback: each is exit code 2, one message, nothing half-made."""

from __future__ import annotations

import errno
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from gymsuite.commands import _cli, evaluate, train
from gymsuite.commands import record as record_video
from tests.toy_envs import TOY_FILE

TRAIN = ["--algo", "ppo", "--env", "CartPole-v1", "--timesteps", "256", "--eval-episodes", "1"]


def fails_cleanly(main: Callable[[list[str]], int], argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run a command that must refuse: exit 2, a message with its fix, no traceback. Returns stderr."""
    assert _cli.run(main, argv) == 2
    err = capsys.readouterr().err
    assert "error: " in err and "fix: " in err and "Traceback" not in err
    return err


@pytest.mark.parametrize("run_dir", ["a_file", "a_file/run"])
def test_run_directory_that_is_or_lies_under_a_file(in_tmp: Path, capsys: pytest.CaptureFixture[str],
                                                    run_dir: str) -> None:
    Path("a_file").write_text("keep me")
    fails_cleanly(train.main, [*TRAIN, "--run-dir", run_dir], capsys)
    assert Path("a_file").read_text() == "keep me"


@pytest.mark.parametrize(("method", "code"), [("mkdir", errno.EROFS), ("write_text", errno.ENOSPC)])
def test_read_only_or_full_disk_when_creating_the_run(in_tmp: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch, method: str,
                                                      code: int) -> None:
    real = getattr(Path, method)

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        if "r" in self.parts:  # only the run directory's disk is broken
            raise OSError(code, "simulated", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, method, refuse)
    err = fails_cleanly(train.main, [*TRAIN, "--run-dir", "r"], capsys)
    assert "GiB free" in err
    monkeypatch.undo()
    assert not Path("r").exists()


def test_full_disk_when_saving_keeps_the_previous_model_and_checkpoint(
        cartpole_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from stable_baselines3.common.base_class import BaseAlgorithm

    run = tmp_path / "run"
    shutil.copytree(cartpole_run, run)
    before = {p.relative_to(run): p.read_bytes() for p in run.rglob("*.zip")}

    def full(self: BaseAlgorithm, path: object, *args: object, **kwargs: object) -> None:
        Path(str(path)).write_bytes(b"half a model")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(BaseAlgorithm, "save", full)
    err = fails_cleanly(train.main, ["--resume", str(run)], capsys)
    assert "model.zip" in err and "GiB free" in err
    assert {p.relative_to(run): p.read_bytes() for p in run.rglob("*.zip")} == before  # no temp file left either


def test_full_disk_at_a_checkpoint_keeps_the_previous_one(in_tmp: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from stable_baselines3.common.base_class import BaseAlgorithm

    real, saves = BaseAlgorithm.save, []

    def full_after_one(self: BaseAlgorithm, path: object, *args: object, **kwargs: object) -> None:
        saves.append(path)
        if len(saves) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, path, *args, **kwargs)

    monkeypatch.setattr(BaseAlgorithm, "save", full_after_one)
    err = fails_cleanly(train.main, [*TRAIN, "--hyperparams", "n_steps=64", "batch_size=64", "n_envs=1",
                                     "--checkpoint-freq", "64",
                                     "--eval-freq", "0", "--run-dir", "r"], capsys)
    assert "ckpt_128.zip" in err
    assert sorted(p.name for p in Path("r/checkpoints").iterdir()) == ["ckpt_64.zip", "ckpt_64_state.npz"]
    with zipfile.ZipFile("r/checkpoints/ckpt_64.zip") as kept:
        assert kept.testzip() is None


@pytest.mark.parametrize("fraction", [0.03, 0.2, 0.5, 0.8, 0.99])
def test_truncated_model_zip(cartpole_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             fraction: float) -> None:
    data = (cartpole_run / "model.zip").read_bytes()
    cut = tmp_path / "model.zip"
    cut.write_bytes(data[: max(2048, int(len(data) * fraction))])
    for algo in (["--algo", "ppo"], []):
        fails_cleanly(evaluate.main, [str(cut), "--env", "CartPole-v1", *algo], capsys)


def test_zip_without_sb3_data(cartpole_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nodata = tmp_path / "model.zip"
    with zipfile.ZipFile(cartpole_run / "model.zip") as src, zipfile.ZipFile(nodata, "w") as dst:
        for name in src.namelist():
            if name != "data":
                dst.writestr(name, src.read(name))
    for algo in (["--algo", "ppo"], []):
        fails_cleanly(evaluate.main, [str(nodata), "--env", "CartPole-v1", *algo], capsys)


@pytest.mark.parametrize("target", ["run", "zip"])
def test_ppo_model_evaluated_as_dqn(cartpole_run: Path, capsys: pytest.CaptureFixture[str], target: str) -> None:
    path = cartpole_run if target == "run" else cartpole_run / "model.zip"
    err = fails_cleanly(evaluate.main, [str(path), "--algo", "dqn", "--env", "CartPole-v1"], capsys)
    assert "--algo ppo" in err


@pytest.mark.parametrize("argv", [["--seed", "-1"], ["--hyperparams", "policy_kwargs={net_arch: [-1]}"],
                                  ["--env", f"{TOY_FILE}:LyingSpaces", "--no-check"],
                                  ["--env", f"{TOY_FILE}:TextMission"],
                                  ["--env", f"{TOY_FILE}:TextMission", "--no-check"]],
                         ids=["seed", "net_arch", "lying-spaces", "text-space", "text-space-no-check"])
def test_train_bad_values_and_lying_env(in_tmp: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    fails_cleanly(train.main, [*TRAIN, *argv, "--run-dir", "r"], capsys)
    assert not Path("r").exists() and not Path("runs").exists()


@pytest.mark.parametrize("main", [evaluate.main, record_video.main], ids=["evaluate", "record"])
def test_negative_seed_when_evaluating(cartpole_run: Path, in_tmp: Path, capsys: pytest.CaptureFixture[str],
                                       main: Callable[[list[str]], int]) -> None:
    fails_cleanly(main, [str(cartpole_run), "--seed", "-1"], capsys)
    assert list(in_tmp.iterdir()) == []


@pytest.mark.parametrize("ffmpeg", ["missing", "failing"])
def test_broken_ffmpeg(cartpole_run: Path, in_tmp: Path, capsys: pytest.CaptureFixture[str],
                       monkeypatch: pytest.MonkeyPatch, ffmpeg: str) -> None:
    from moviepy.video.io import ffmpeg_writer

    exe = in_tmp.parent / f"ffmpeg-{ffmpeg}"
    if ffmpeg == "failing":
        exe.write_text("#!/bin/sh\necho 'ffmpeg: broken build' >&2\nexit 1\n")
        exe.chmod(0o755)
    # moviepy reads IMAGEIO_FFMPEG_EXE once, on import; this is the value it read.
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(exe))
    monkeypatch.setattr(ffmpeg_writer, "FFMPEG_BINARY", str(exe))
    err = fails_cleanly(record_video.main, [str(cartpole_run), "--out", "v.mp4"], capsys)
    assert str(exe) in err and "IMAGEIO_FFMPEG_EXE" in err
    assert list(in_tmp.iterdir()) == []


@pytest.mark.parametrize("name", ["demos.txt", "demos.npz"])
def test_text_file_as_demos(in_tmp: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    Path(name).write_text("obs,act\n0.1,1\n")
    err = fails_cleanly(train.main, ["--algo", "bc", "--env", "CartPole-v1", "--demos", name, "--run-dir", "r"],
                        capsys)
    assert "pickled" not in err
    assert not Path("r").exists()
