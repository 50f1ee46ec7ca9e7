"""The meta benchmark: its table and target from fake results, and its quick mode's promise to write nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("scipy", reason="the statistics need the bench extra")

from benchmarks import meta as bench  # noqa: E402
from benchmarks.benchlib import numbers, read_tables  # noqa: E402

AFTER = {"reptile": 150.0, "fomaml": 120.0, "multitask": 100.0, "scratch": 30.0}  # task j: + 10 j


def fake_run(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    return [{**job, "methods": {m: {"before": [20.0, 20.0, 20.0], "after": [a + 10 * j for j in range(3)]}
                                for m, a in AFTER.items()}} for job in jobs]


def test_table_and_target_from_fake_results(tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    text = bench.main(["--seeds", "3", "--timesteps", "1000", "--benchmarks", str(out)], run=fake_run)
    [(header, rows)] = read_tables(text)
    assert header[:3] == ["method", "before adaptation", "after 5,000 steps"]
    assert [r[0] for r in rows] == list(bench.METHODS)
    assert numbers(rows[0][2])[0] == 160 and numbers(rows[2][2])[0] == 110  # IQM of 3 seeds x (a, a+10, a+20)
    assert numbers(rows[0][4])[0] == 160 and numbers(rows[0][1])[0] == 20
    assert "): met: Reptile 160, FOMAML 130, multitask 110 (x1.45)" in text and "<!-- BEGIN meta -->" in out.read_text()


def test_quick_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    bench.main(["--quick", "--benchmarks", str(out)], run=fake_run)
    assert not out.exists()
