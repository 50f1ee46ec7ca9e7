"""common/files: atomic writes keep the old file on failure and give the new one ordinary permissions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gymsuite.common.files import atomic_write


def test_an_atomic_write_gets_the_permissions_of_a_plain_open(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "model.zip", lambda tmp: tmp.write_bytes(b"data"))
        plain = tmp_path / "plain.txt"
        plain.write_bytes(b"data")
    finally:
        os.umask(old)
    assert (tmp_path / "model.zip").stat().st_mode & 0o777 == plain.stat().st_mode & 0o777 == 0o644


def test_a_failed_atomic_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "v.mp4"
    target.write_bytes(b"old")

    def fail(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise RuntimeError("writer failed")

    with pytest.raises(RuntimeError):
        atomic_write(target, fail)
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]
