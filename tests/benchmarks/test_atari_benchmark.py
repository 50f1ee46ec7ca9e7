"""The Atari benchmarks: a real ``--quick`` run's table (one rollout each), and the GPU script's table."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import atari, atari_gpu
from benchmarks.benchlib import numbers, read_tables


def test_quick_run_prints_the_table_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "BENCHMARKS.md"
    assert atari.main(["--quick", "--benchmarks", str(out)]) == 0
    assert not out.exists()
    (header, rows), = read_tables(capsys.readouterr().out)
    assert header == ["run", "steps", "seconds", "steps/s"] and len(rows) == 2
    for row in rows:
        assert numbers(row[1]) == [atari.QUICK_STEPS] and numbers(row[3])[0] > 0


def test_gpu_table() -> None:
    run = {"steps": 120_000, "seconds": 150.2, "fps": 800.0, "mean_return": -20.5, "episodes": 12}
    text = atari_gpu.markdown({"plain": run, "gymsuite": {**run, "fps": 2000.0, "mean_return": None}}, "test", 150)
    (header, rows), = read_tables(text)
    assert len(header) == 5 and [numbers(r[3]) for r in rows] == [[800.0], [2000.0]]
    assert rows[1][4] == "n/a" and "**2.50**" in text
