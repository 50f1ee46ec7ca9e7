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
    run = {"steps": 120_000, "seconds": 150.2, "fps": 800.0, "collect_seconds": 75.1, "mean_return": -20.5,
           "episodes": 12}
    results = {atari_gpu.REFERENCE: run, atari_gpu.ADAPTER: {**run, "fps": 1600.0},
               atari_gpu.ours(16): {**run, "fps": 2000.0, "mean_return": None},
               atari_gpu.ours(32): {**run, "fps": 2400.0}}
    text = atari_gpu.markdown(results, "test", 150)
    (header, rows), = read_tables(text)
    assert len(header) == 6 and [numbers(r[3]) for r in rows] == [[800.0], [1600.0], [2000.0], [2400.0]]
    assert rows[0][4] == "50%" and rows[2][5] == "n/a"
    assert "**2.50**" in text and "with 32 envs 3.00" in text and "same env: 1.25x" in text


def test_sb3_loop_on_gymsuite_env_stops_on_the_clock_and_times_its_rollouts() -> None:
    r = atari.adapter_run(10_000, 2, "cpu", seconds=1.0)
    assert 0 < r["steps"] < 10_000 and r["steps"] % 2 == 0
    assert 0 < r["collect_seconds"] <= r["seconds"] and r["fps"] == pytest.approx(r["steps"] / r["seconds"])
