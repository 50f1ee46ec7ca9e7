"""Files written by a subprocess or a C++ writer (ffmpeg's videos, torch's ``.pt``) and demonstrations, on a
disk that fails mid-write: exit 2 naming the file and the free space, the previous file byte for byte, no
temporary left; and a file that was written is one that reads back.

A full disk is simulated by a file-size limit (``RLIMIT_FSIZE``, with ``SIGXFSZ`` ignored): the kernel
then refuses the write that crosses it, in gymsuite's process and in the ffmpeg it starts, as a full
disk refuses the write that does not fit.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
import pytest
from moviepy.video.io import ffmpeg_writer

import gymsuite
from gymsuite import api
from gymsuite.agents.data import demos as demos_module
from gymsuite.commands import _cli, collect_demos
from gymsuite.commands import record as record_cmd

REPO = Path(__file__).resolve().parents[2]
CARTPOLE = [[0, 0, -50, -25], [0, 0, 50, 25]]  # push towards the lean


def gymsuite_on_a_small_disk(argv: list[str], cwd: Path, limit: int) -> subprocess.CompletedProcess[str]:
    """``python -m gymsuite ARGV`` in ``cwd`` where no file may grow past ``limit`` bytes."""
    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails (EFBIG) instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "gymsuite", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, preexec_fn=small_disk, check=False)


def refused_cleanly(proc: subprocess.CompletedProcess[str], name: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "fix: " in proc.stderr
    assert name in proc.stderr and "GiB free" in proc.stderr


def test_full_disk_when_writing_a_video_keeps_the_previous_one(tmp_path: Path) -> None:
    (tmp_path / "v.mp4").write_bytes(b"the previous video")
    proc = gymsuite_on_a_small_disk(["record", "random", "--env", "CartPole-v1", "--episodes", "2", "--out",
                                     "v.mp4"], tmp_path, limit=2048)
    refused_cleanly(proc, "v.mp4")
    assert "wrote" not in proc.stdout
    assert (tmp_path / "v.mp4").read_bytes() == b"the previous video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]


def fake_ffmpeg(folder: Path, damage: str) -> Path:
    """An ffmpeg that encodes with the real one and then damages the video: ``full`` as a full disk does (the
    index never written, ffmpeg's message and status), ``truncated`` and ``short`` (3 frames) with exit status 0."""
    exe = folder / f"ffmpeg-{damage}"
    real = imageio_ffmpeg.get_ffmpeg_exe()
    exe.write_text(f"""#!{sys.executable}
import os, subprocess, sys
args = sys.argv[1:]
if "rawvideo" not in args:  # not an encode (gymsuite reading the video back): the real ffmpeg
    os.execv({real!r}, [{real!r}, *args])
if {damage!r} == "short":  # drops all but 3 frames
    args = [*args[:-1], "-frames:v", "3", args[-1]]
code = subprocess.call([{real!r}, *args])
if {damage!r} in ("full", "truncated"):  # what a full disk leaves: the index (moov atom) never written
    os.truncate(args[-1], os.path.getsize(args[-1]) // 2)
if {damage!r} == "full":
    print("[out#0/mp4 @ 0x5] Error writing trailer: No space left on device", file=sys.stderr)
    sys.exit(228)
sys.exit(0)
""")
    exe.chmod(0o755)
    return exe


def _record_command(out: Path) -> None:
    assert _cli.run(record_cmd.main, ["random", "--env", "CartPole-v1", "--out", str(out)]) == 2


def _record_api(out: Path) -> None:
    with pytest.raises(gymsuite.UserError) as err:
        gymsuite.record("random", out, env="CartPole-v1")
    print(f"error: {err.value}", file=sys.stderr)


@pytest.mark.parametrize("damage", ["full", "truncated", "short"])
@pytest.mark.parametrize("record", [_record_command, _record_api], ids=["command", "api"])
def test_a_video_that_ffmpeg_did_not_write_whole_is_refused(in_tmp: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str], damage: str,
                                                        record: Callable[[Path], None]) -> None:
    monkeypatch.setattr(ffmpeg_writer, "FFMPEG_BINARY", str(fake_ffmpeg(in_tmp.parent, damage)))
    Path("v.mp4").write_bytes(b"the previous video")
    record(Path("v.mp4"))
    err = capsys.readouterr().err
    assert "v.mp4" in err and "GiB free" in err
    assert Path("v.mp4").read_bytes() == b"the previous video" and sorted(os.listdir(".")) == ["v.mp4"]


def test_a_recorded_video_decodes_to_every_frame(in_tmp: Path) -> None:
    summary = api.record_video("random", "v.mp4", env="CartPole-v1", episodes=2)
    frames, _ = imageio_ffmpeg.count_frames_and_secs("v.mp4")
    assert frames == summary["frames"] == 1 + sum(summary["lengths"])  # the first frame, then one per step


def test_full_disk_when_pretraining_keeps_the_previous_encoder(tmp_path: Path) -> None:
    (tmp_path / "enc.pt").write_bytes(b"the previous encoder")
    proc = gymsuite_on_a_small_disk(["pretrain", "--env", "CartPole-v1", "--frames", "64", "--epochs", "1",
                                     "--out", "enc.pt"], tmp_path, limit=4096)
    refused_cleanly(proc, "enc.pt")
    assert (tmp_path / "enc.pt").read_bytes() == b"the previous encoder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enc.pt"]


def test_demonstrations_that_do_not_read_back_are_refused(in_tmp: Path, linear_expert: Callable[..., Any],
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    linear_expert("CartPole-v1", CARTPOLE, "expert")
    real = np.savez_compressed

    def cut_short(file: Any, **arrays: Any) -> None:  # a writer that stops half-way without an error
        real(file, **arrays)
        file.truncate(file.tell() // 2)

    monkeypatch.setattr(demos_module.np, "savez_compressed", cut_short)
    Path("d.npz").write_bytes(b"the previous demonstrations")
    assert _cli.run(collect_demos.main, ["expert", "--episodes", "1", "--out", "d.npz"]) == 2
    err = capsys.readouterr().err
    assert "d.npz" in err and "GiB free" in err
    assert Path("d.npz").read_bytes() == b"the previous demonstrations"
    assert sorted(os.listdir(".")) == ["d.npz", "expert"]
