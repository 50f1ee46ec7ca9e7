"""A lock file naming the process that holds it (``pid host``), so a second process is refused by name and the lock
of a process that died (SIGKILL, a crash) is taken over instead of blocking forever.

Written by hand: Optuna's journal lock guards single writes, not a whole command, and ``fcntl`` locks do not say who
holds them (nor hold on every network file system).
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from gymsuite.common.errors import UserError
from gymsuite.common.files import disk_errors


@contextlib.contextmanager
def pid_lock(lock: Path, what: str, flag: str = "--run-dir / --out") -> Iterator[None]:
    """Hold ``lock`` while the block runs; ``what`` names the locked thing in the error, ``flag`` the option that
    chose where it is (in the fix of a disk error).

    Raises:
        UserError: a live process holds it (or a process on another host, whose life cannot be checked from here),
            or a full disk keeps it from being written (none is left).
    """
    mine = f"{os.getpid()} {socket.gethostname()}"
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            _refuse_or_clear(lock, what)
            continue
        try:
            with disk_errors(lock, flag), os.fdopen(fd, "w") as f:
                f.write(mine + "\n")
        except BaseException:  # a full disk: a lock that names no one would block no one, so none is left
            lock.unlink(missing_ok=True)
            raise
        break
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if lock.read_text().strip() == mine:
                lock.unlink()


def _refuse_or_clear(lock: Path, what: str) -> None:
    """Remove the lock of a dead process on this host; refuse any other."""
    try:
        pid_text, _, host = lock.read_text().strip().partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        pid, host = -1, socket.gethostname()  # unreadable or torn: from a process that died while writing it
    if host == socket.gethostname() and (pid <= 0 or not alive(pid)):
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
        return
    where = "on this machine" if host == socket.gethostname() else f"on {host}"
    raise UserError(f"{what} is in use by process {pid} {where} ({lock})",
                    "wait for it to finish, or stop it; delete the lock only if that process is gone")


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True
