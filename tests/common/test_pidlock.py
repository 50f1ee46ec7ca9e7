"""gymsuite.common.pidlock: one holder at a time, named; a dead or torn holder's lock is taken over; released after."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from gymsuite.common.errors import UserError
from gymsuite.common.pidlock import pid_lock


def test_the_lock_names_its_holder_and_refuses_a_second_one(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    with pid_lock(lock, "the thing"):
        assert lock.read_text().split() == [str(os.getpid()), socket.gethostname()]
        with pytest.raises(UserError, match="in use"), pid_lock(lock, "the thing"):
            pass
    assert not lock.exists()


@pytest.mark.parametrize("text", ["", "12ab", f"999999999 {socket.gethostname()}"])  # torn, garbage, a dead pid
def test_a_dead_holders_lock_is_taken_over(text: str, tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    lock.write_text(text)
    with pid_lock(lock, "the thing"):
        assert lock.read_text().split()[0] == str(os.getpid())


def test_a_lock_from_another_host_is_refused(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    lock.write_text("1 some-other-host\n")
    with pytest.raises(UserError, match="some-other-host"), pid_lock(lock, "the thing"):
        pass
    assert lock.read_text() == "1 some-other-host\n"


def test_a_lock_that_a_full_disk_cannot_hold_is_exit_2_and_left_nowhere(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    class FullDisk:  # the file the lock is written through, on a disk that has just filled up
        def __init__(self, fd: int, mode: str) -> None:
            os.close(fd)

        def __enter__(self) -> FullDisk:
            return self

        def __exit__(self, *_: object) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")  # the write's flush, at close

        def write(self, text: str) -> int:
            return len(text)

    lock = tmp_path / "lock"
    monkeypatch.setattr(os, "fdopen", FullDisk)
    with pytest.raises(UserError, match="No space left") as caught, pid_lock(lock, "the thing", "--study"):
        pass
    monkeypatch.undo()
    assert "--study" in str(caught.value.hint)
    assert not lock.exists()
