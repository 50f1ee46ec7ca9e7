"""The shift benchmark: its table and targets from fake results (known returns per length), and its quick mode's
promise to write nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("scipy", reason="the statistics need the bench extra")

from benchmarks import shift as bench  # noqa: E402
from benchmarks.benchlib import numbers, read_tables  # noqa: E402

# per factor x0.125 .. x8: the plain agent holds only near x1; the randomised one inside x0.25..x4 and less beyond
PLAIN = [9, 10, 200, 500, 14, 10, 9]
RANDOMISED = [300, 480, 500, 500, 490, 485, 260]


def fake_run(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    base = {"plain": PLAIN}
    return [{**job, "fps": 1000.0, "returns": [float(r + job["seed"]) for r in base.get(job["variant"], RANDOMISED)]}
            for job in jobs]


def test_table_and_targets_from_fake_results(tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    text = bench.main(["--seeds", "3", "--steps", "1000", "--episodes", "2", "--benchmarks", str(out),
                       "--plot", str(tmp_path / "shift.png")], run=fake_run)
    [(header, rows)] = read_tables(text)
    assert header == ["variant", "x0.125", "x0.25", "x0.5", "x1", "x2", "x4", "x8", "train steps/s"]
    assert [r[0] for r in rows] == list(bench.VARIANTS)
    assert numbers(rows[0][4])[0] == 501 and numbers(rows[1][7])[0] == 261  # IQM of seeds 0, 1, 2: the middle
    # worst inside the range: x0.25, 481 of the plain nominal 501 = 96%; x8: 261 / 501 = 52%
    assert "worst inside x0.25..x4 96% (target >= 95%: met)" in text and "at x8 52% (target >= 50%: met)" in text
    assert (tmp_path / "shift.png").is_file() and "<!-- BEGIN shift -->" in out.read_text()


def test_quick_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    bench.main(["--quick", "--benchmarks", str(out), "--plot", str(tmp_path / "p.png")], run=fake_run)
    assert not out.exists() and not (tmp_path / "p.png").exists()


def test_the_grid_evaluates_exactly_the_factors() -> None:
    import numpy as np

    assert np.geomspace(bench.FACTORS[0], bench.FACTORS[-1], len(bench.FACTORS)) == pytest.approx(bench.FACTORS)
