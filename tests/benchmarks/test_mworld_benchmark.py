"""The Meta-World benchmark: its table from fake results, and its quick mode's promise to write nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("scipy", reason="the statistics need the bench extra")

from benchmarks import mworld as bench  # noqa: E402
from benchmarks.benchlib import numbers, read_tables  # noqa: E402

# method -> success after adaptation on each of 2 goals; every method starts at 0 success and return 100
AFTER = {"reptile": [1.0, 1.0], "fomaml": [1.0, 0.0], "multitask": [0.0, 1.0], "scratch": [0.0, 0.0]}


def fake_run(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    return [{**job, "methods": {m: {"before": [100.0, 100.0], "after": [1000.0 * (1 + s) for s in a],
                                    "success_before": [0.0, 0.0], "success_after": a}
                                for m, a in AFTER.items()}} for job in jobs]


def test_table_from_fake_results(tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    text = bench.main(["--seeds", "3", "--test-goals", "2", "--benchmarks", str(out)], run=fake_run)
    [(header, rows)] = read_tables(text)
    assert header[:3] == ["method", "success before adaptation", "success after 10,240 steps"]
    assert [r[0] for r in rows] == list(bench.METHODS)
    assert rows[0][2] == "100% [100%, 100%]" and rows[3][2] == "0% [0%, 0%]"
    assert numbers(rows[1][2])[0] == 50 and numbers(rows[1][1])[0] == 0  # the mean over 3 seeds x 2 goals
    assert numbers(rows[0][4])[0] == 2000 and numbers(rows[0][3])[0] == 100
    assert 'split=test task=0:1' in text and "Highest success after adaptation: reptile" in text
    assert "<!-- BEGIN mworld -->" in out.read_text()


def test_mean_interval_brackets_the_mean() -> None:
    low, high = bench.mean_ci([0.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    assert 0.0 <= low < 4 / 6 < high <= 1.0


def test_quick_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    bench.main(["--quick", "--benchmarks", str(out)], run=fake_run)
    assert not out.exists()
