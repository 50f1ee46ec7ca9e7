"""Stop signals: SIGTERM and Ctrl-C raise KeyboardInterrupt in a run, but only after the file being written is whole."""

from __future__ import annotations

import io
import os
import signal
import zipfile
from pathlib import Path
from typing import IO, Any

import pytest
import torch

from gymsuite.common.files import atomic_write
from gymsuite.common.signals import StopSignals, held


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_raises_keyboard_interrupt_and_is_recorded(signum: int) -> None:
    with StopSignals() as stop, pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signum)
    assert stop.signum == signum
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or callable(signal.getsignal(signal.SIGTERM))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


class KilledMidWrite(io.RawIOBase):
    """A writable file that gets SIGTERM at its second write, as SB3's ``save`` writes into a zip member."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner, self.writes = inner, 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.writes += 1
        if self.writes == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return self.inner.write(data)


def test_a_signal_during_a_torch_save_waits_for_the_whole_file(tmp_path: Path) -> None:
    """Raised in torch.save, KeyboardInterrupt becomes torch's RuntimeError ("unexpected pos"): held defers it."""
    path = tmp_path / "weights.pt"

    def save(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w") as archive, archive.open("policy.pth", "w") as member:
            torch.save({"w": torch.ones(1000), "v": torch.zeros(1000)}, KilledMidWrite(member))

    with StopSignals() as stop, pytest.raises(KeyboardInterrupt):
        atomic_write(path, save)
    assert stop.signum == signal.SIGTERM
    with zipfile.ZipFile(path) as archive, archive.open("policy.pth") as member:
        saved = torch.load(io.BytesIO(member.read()), weights_only=True)
    assert saved["w"].sum() == 1000 and saved["v"].shape == (1000,)


def test_held_blocks_nest_and_raise_once_at_the_outermost_end() -> None:
    ended: list[str] = []
    with StopSignals() as stop, pytest.raises(KeyboardInterrupt):
        with held():
            with held():
                os.kill(os.getpid(), signal.SIGTERM)
                ended.append("inner")
            ended.append("outer")
    assert ended == ["inner", "outer"] and stop.signum == signal.SIGTERM


def test_held_without_stop_signals_changes_nothing(tmp_path: Path) -> None:
    with held():
        atomic_write(tmp_path / "x.txt", lambda p: p.write_text("x"))
    assert (tmp_path / "x.txt").read_text() == "x"


def test_an_ignored_ctrl_c_stays_ignored() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a sweep's worker sets it
    try:
        with StopSignals() as stop:
            os.kill(os.getpid(), signal.SIGINT)
        assert stop.signum == 0 and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
