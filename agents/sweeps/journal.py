"""A study's journal file (``journal.log``, Optuna's storage): appends that leave whole records or nothing, and the
repair of a journal left damaged anyway.

Optuna's ``JournalFileBackend`` appends with a buffered write: a full disk can leave part of a record without its
newline, the next append glues its record to it (``{"op_code":7,"{"op_code":8,...}``), and Optuna's reader then
raises ``JSONDecodeError`` on every later open of the study. :class:`WholeRecords` appends under Optuna's journal
lock with ``os.write``, and when any part of an append fails (a short write, ``ENOSPC``, the ``fsync``, a signal)
it cuts the file back to where it ended, so the journal always ends in a whole record; the failure is a
:class:`~gymsuite.common.errors.UserError` naming the file and its disk's free space.

A journal damaged all the same (a power cut, an older gymsuite, a hand edit) is checked line by line when the study
opens (:func:`repair`): a line that is not a whole JSON record of a known operation that applies to the records
before it is dropped, a whole record glued behind a torn one is kept, the damaged file is copied beside the journal
(``journal.log.damaged-<time>``), and a warning says how many lines were dropped and from which line. A reader that
does not hold the study (:func:`check`) refuses a damaged journal, naming the line, instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

# Optuna's replay of a journal, record by record, as JournalStorage applies them on opening: not exported, but the
# one exact judge of whether Optuna can read a record (tests/agents/test_tune_faults.py would see it change).
from optuna.storages.journal._storage import JournalOperation, JournalStorageReplayResult

from gymsuite.common.errors import UserError
from gymsuite.common.files import disk_errors

FLAG = "--study"  # the option that chose the journal's place, named in a full or read-only disk's fix
_RECORD_START = b'{"op_code":'  # how Optuna writes every record (json.dumps, separators without spaces)
_OPS = {int(op) for op in JournalOperation}


class WholeRecords(JournalFileBackend):
    """Optuna's journal file backend, with appends that leave whole records or nothing (see the module's doc)."""

    def __init__(self, journal: Path) -> None:
        self.path, self.lock = journal, JournalFileSymlinkLock(str(journal))  # Optuna's default lock, kept at hand
        with disk_errors(journal, FLAG):  # the backend creates the file
            super().__init__(str(journal), lock_obj=self.lock)

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        data = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs).encode("utf-8")
        with disk_errors(self.path, FLAG), _held(self.lock):
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
            try:
                _append_whole(fd, data)
            finally:
                os.close(fd)


@contextlib.contextmanager
def _held(lock: JournalFileSymlinkLock) -> Iterator[None]:
    lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _append_whole(fd: int, data: bytes) -> None:
    """Append ``data`` (whole lines) to the file ``fd`` (opened ``O_APPEND``, its journal lock held), or leave the
    file as it was and raise."""
    end = _cut_torn_tail(fd)
    try:
        view = memoryview(data)
        while view:  # a write may take part of the bytes; the next one then says why (ENOSPC)
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, end)
        raise


def _cut_torn_tail(fd: int) -> int:
    """Cut bytes after the file's last newline (a writer killed mid-record: not a record, never read as one, and
    the next record would be glued to them); the file's length after."""
    end = os.lseek(fd, 0, os.SEEK_END)
    if end == 0 or os.pread(fd, 1, end - 1) == b"\n":
        return end
    start = end
    while start > 0:
        size = min(start, 1 << 16)
        start -= size
        newline = os.pread(fd, size, start).rfind(b"\n")
        if newline >= 0:
            start += newline + 1
            break
    os.ftruncate(fd, start)
    return start


@dataclass(frozen=True)
class Scan:
    """A journal read line by line: the whole records kept (each one line, ``\\n`` ended), the line numbers
    dropped (1-based), and whether the kept records hold a study."""

    kept: list[bytes]
    dropped: list[int]
    has_study: bool


def scan(journal: Path) -> Scan:
    """Read ``journal``, keeping each line that is a whole record of a known operation that applies to the records
    kept before it (replayed as Optuna replays them), and a whole record glued behind a torn one."""
    lines = journal.read_bytes().split(b"\n")
    torn_tail = lines.pop()  # the bytes after the last newline: b"" unless a write was cut
    replay = JournalStorageReplayResult("gymsuite-repair-")  # a worker id no record has: replays leniently
    kept: list[bytes] = []
    dropped: list[int] = []
    for number, line in enumerate(lines, 1):
        record = _applied(replay, line)
        if record is None:
            dropped.append(number)
            record = _glued(replay, line)
        if record is not None:
            kept.append(record + b"\n")
    if torn_tail:
        dropped.append(len(lines) + 1)
    return Scan(kept, dropped, bool(replay.get_all_studies()))


def _applied(replay: JournalStorageReplayResult, line: bytes) -> bytes | None:
    """``line`` when it is a record that applies to ``replay`` (now applied), else None."""
    try:
        record = json.loads(line.decode("utf-8"))
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested past Python's stack
        return None
    if not isinstance(record, dict) or type(record.get("op_code")) is not int or record["op_code"] not in _OPS:
        return None
    try:
        replay.apply_logs([record])
    except Exception:  # noqa: BLE001  (any field Optuna cannot read: KeyError, ValueError, TypeError, AssertionError)
        return None
    return line


def _glued(replay: JournalStorageReplayResult, line: bytes) -> bytes | None:
    """The whole record that a later append glued behind a torn one (``{"op_code":7,"{"op_code":8,...}``)."""
    start = line.find(_RECORD_START, 1)
    while start > 0:
        record = _applied(replay, line[start:])
        if record is not None:
            return record
        start = line.find(_RECORD_START, start + 1)
    return None


def check(journal: Path) -> None:
    """Refuse a damaged journal (for readers that do not hold the study: :func:`repair` needs its lock).

    Raises:
        UserError: a line of ``journal`` is torn or not a record; the message names the first.
    """
    found = scan(journal)
    if found.dropped:
        raise UserError(f"{journal} is damaged from line {found.dropped[0]} ({len(found.dropped)} torn or "
                        "unreadable lines)",
                        "continue the study with gymsuite tune (its --algo, --env and --study): it repairs the "
                        "journal, keeping every whole record and a copy of the damaged file")


def repair(journal: Path) -> None:
    """Drop a journal's damaged lines, keeping every whole record, a copy of the damaged file and a warning; hold
    the study's lock (``tune.study_lock``) around this.

    Raises:
        UserError: no study is left to read (its first record is damaged), or the disk refuses the repair.
    """
    if not journal.is_file() or not scan(journal).dropped:
        return
    with _held(JournalFileSymlinkLock(str(journal))):  # a worker that a killed command left may still append
        found = scan(journal)
        if not found.dropped:
            return
        if not found.has_study:
            raise UserError(f"{journal} is damaged from line {found.dropped[0]}: no study is left to read in it",
                            "restore the journal from a copy, or start the study afresh in another --study")
        backup = _backup_name(journal)
        with disk_errors(journal, FLAG):
            shutil.copy2(journal, backup)
            _replace(journal, b"".join(found.kept))
    lines = len(found.dropped)
    warnings.warn(f"{journal} was damaged: dropped {lines} torn or unreadable line{'s' * (lines > 1)} (the first: "
                  f"line {found.dropped[0]}), kept {len(found.kept)} whole records; the damaged file is kept as "
                  f"{backup}", UserWarning, stacklevel=2)


def _backup_name(journal: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup, n = journal.with_name(f"{journal.name}.damaged-{stamp}"), 1
    while backup.exists():
        backup, n = journal.with_name(f"{journal.name}.damaged-{stamp}-{n}"), n + 1
    return backup


def _replace(journal: Path, data: bytes) -> None:
    """Write ``data`` beside ``journal`` and rename it into place (a crash leaves the damaged journal, not half
    a repaired one)."""
    tmp = journal.with_name(f".{journal.name}.repair")
    try:
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, journal)
    finally:
        tmp.unlink(missing_ok=True)
