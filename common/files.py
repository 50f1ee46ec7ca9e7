"""Safe file I/O shared by every package: atomic writes and the one YAML reader.

Atomic writes: a file is written beside its target and renamed into place, so a crash or
Ctrl-C never leaves half a file (run directories, checkpoints, demos, reward files). Logs
(``outcomes.jsonl``) are appended to, one whole line at a time.

YAML: one reader for config files, hyperparameter files, ``--hyperparams`` and shaping files.
PyYAML follows YAML 1.1, where a float needs a dot: ``1e-4`` and ``3e5`` load as the strings
``'1e-4'`` and ``'3e5'``, so ``--hyperparams learning_rate=1e-4`` would be rejected as "not a
number". This loader also reads them as floats (as YAML 1.2 and Python do); everything else is
``yaml.safe_load``'s.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import yaml

from gymsuite.common.errors import UserError
from gymsuite.common.signals import held


class _Loader(yaml.SafeLoader):
    """``SafeLoader`` plus exponent floats without a dot."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load_yaml(text: str) -> Any:
    """Parse ``text`` like ``yaml.safe_load``, with ``1e-4`` a float; raises ``yaml.YAMLError`` on bad syntax."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506  (a SafeLoader subclass)


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    A crash or Ctrl-C mid-write leaves the previous ``path`` intact, never half a file.
    The temporary name keeps ``path``'s suffix because SB3's ``save`` appends ``.zip``
    to names without it. The file gets the permissions a plain ``open`` would give it (``mkstemp``'s
    temporaries are owner-only).
    """
    with disk_errors(path), held():  # Ctrl-C, SIGTERM: stop once the file is whole (see common/signals)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            write(tmp)
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)


def _umask() -> int:
    """The process's umask (read by setting it, then put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_buffered(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """:func:`atomic_write` of what ``write(f)`` writes into the file object ``f`` (see :func:`write_buffered`)."""
    atomic_write(path, lambda tmp: write_buffered(tmp, write))


def write_buffered(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Call ``write(f)`` on an in-memory file, then write its bytes to ``path`` with Python's own ``write``.

    For writers that report a failed write as something other than an ``OSError``: ``torch.save``
    (to a name, or to a file whose write fell short) raises ``RuntimeError: unexpected pos ...``
    on a full disk. Written from memory, a full disk is an ``OSError``, which :func:`disk_errors`
    turns into a message naming the file and the free space. The file is held in memory once.
    """
    buffer = io.BytesIO()
    write(buffer)
    Path(path).write_bytes(buffer.getbuffer())


# What a full, read-only or forbidden disk raises; anything else is a bug and keeps its traceback.
# EFBIG: the file-size limit (``ulimit -f``) or the filesystem's largest file.
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR,
                errno.EEXIST}


@contextlib.contextmanager
def disk_errors(path: Path, flag: str = "--run-dir / --out") -> Iterator[None]:
    """Turn a full, read-only or blocked disk while writing ``path`` into a :class:`UserError`.

    The message names ``path`` and the free space left where it goes; the fix says what to free
    or where else to write (``flag``: the command's option that chose the place). A write through
    :func:`atomic_write` leaves the previous file intact.
    """
    try:
        yield
    except OSError as err:
        if err.errno not in _DISK_ERRNOS:
            raise
        kind = ("full" if err.errno in (errno.ENOSPC, errno.EDQUOT) else "too large" if err.errno == errno.EFBIG else
                "blocked" if err.errno in (errno.ENOTDIR, errno.EEXIST) else "read-only")
        raise UserError(f"cannot write {path}: {err.strerror or err} ({free_space(path)})",
                        _DISK_FIX[kind].format(flag=flag)) from err


_DISK_FIX = {
    "full": "free some disk space (old runs/ and their checkpoints/ are the usual culprits), or write elsewhere "
            "with {flag}",
    "too large": "a file-size limit stops this write (ulimit -f, or the filesystem's largest file): raise it, "
                 "or write elsewhere with {flag}",
    "read-only": "write to a directory you can write to ({flag}), or make this one writable",
    "blocked": "a file stands where a directory is needed on that path: choose another {flag}, or move the file",
}


def ensure_dir(path: Path, flag: str) -> None:
    """Create the directory ``path`` that the option ``flag`` names (``--study``, ``--dir``), or say why not.

    Raises:
        UserError: ``path``, or a folder above it, is a file; or it cannot be created or written (a read-only
            or full disk, no permission). The message names ``flag`` and its fix.
    """
    with disk_errors(path, flag):  # a folder above that cannot be searched: EACCES
        blocking = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            where = "is a file, not a directory" if blocking == path else f"lies under {blocking}, a file"
            raise UserError(f"{flag} {path} {where}",
                            f"choose another {flag}, or move the file away")
        path.mkdir(parents=True, exist_ok=True)
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError(f"{flag} {path} is not writable ({free_space(path)})",
                        f"choose a {flag} directory you can write to, or make {path} writable")


def free_space(path: Path) -> str:
    """``"1.2 GiB free on /data"`` for the nearest existing directory above ``path`` (for messages about a write)."""
    where = Path(path).absolute()
    while not where.is_dir() and where != where.parent:
        where = where.parent
    try:
        free = shutil.disk_usage(where).free
    except OSError:
        return "free space unknown"
    return f"{free / 2**30:.1f} GiB free on {where}"


def write_yaml(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(yaml.safe_dump(data, sort_keys=False)))


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2) + "\n"))


def claim_dir(root: Path, record: dict[str, Any], what: str, kind: str, name: str = "plan.json") -> None:
    """Make ``root`` the directory of the job ``record`` describes (written to its ``name`` file), or check that it
    already is: the same record continues the job; another one, or a non-empty folder without the file, is refused,
    so a resumable command (``continual``, ``meta``) never mixes two jobs' files.

    Raises:
        UserError: ``root`` holds another ``what`` (naming the keys that differ), or is a non-empty folder that is
            not a ``kind`` directory.
    """
    file = root / name
    now = json.loads(json.dumps(record))  # as it reads back: tuples as lists
    if file.is_file():
        saved = json.loads(file.read_text())
        if saved != now:
            changed = sorted(k for k in {*saved, *now} if saved.get(k) != now.get(k))
            raise UserError(f"{root} holds another {what} (it differs in {', '.join(changed)})",
                            "pass the same arguments to continue it, or another --dir")
    elif root.exists() and any(root.iterdir()):
        raise UserError(f"{root} exists and is not a {kind} directory (no {name})", "pass a new --dir")
    else:
        root.mkdir(parents=True, exist_ok=True)
        write_json(file, record)


def append_json_line(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON object as one line to a log (``outcomes.jsonl``): a log grows, so it is appended to, not
    rewritten; one ``write`` of a whole line with ``O_APPEND``. A write that fails or stops short (a full disk
    takes part of the line) is taken back, so the log holds whole lines only.

    Raises:
        UserError: a full or read-only disk (the message names ``path`` and the free space).
    """
    line = (json.dumps(record) + "\n").encode("utf-8")
    with disk_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            try:
                if os.write(fd, line) != len(line):
                    raise OSError(errno.ENOSPC, "No space left on device (the line was cut short)")
            except OSError:
                os.ftruncate(fd, size)  # shrinking needs no space: the torn part goes, the whole lines stay
                raise
        finally:
            os.close(fd)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with errors that name the file."""
    file = Path(path)
    if not file.is_file():
        raise UserError(f"config file {str(path)!r} does not exist")
    try:
        data = load_yaml(file.read_text())
    except yaml.YAMLError as err:
        raise UserError(f"{path} is not valid YAML: {err}", "fix the syntax (indentation, colons, quotes)") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{path} must hold a mapping of keys to values, not a {type(data).__name__}")
    return data
