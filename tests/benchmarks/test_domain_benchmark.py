"""The domain benchmark: its table from fake results, and its quick mode's promise to write nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("scipy", reason="the statistics need the bench extra")

from benchmarks import domain as bench  # noqa: E402
from benchmarks.benchlib import numbers, read_tables  # noqa: E402


def fake_run(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    dann = [name for name in bench.VARIANTS if name.startswith("domain")][0]
    return [{**job, "fps": 1000.0, "source": 400.0 + job["seed"], "target": 10.0 + job["seed"],
             "adapted": 12.0 + job["seed"], "accuracy": 0.6 if job["variant"] == dann else None} for job in jobs]


def test_table_from_fake_results(tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    text = bench.main(["--seeds", "3", "--steps", "1000", "--episodes", "2", "--benchmarks", str(out)], run=fake_run)
    [(header, rows)] = read_tables(text)
    assert header == ["variant", "source return", "target return", "target after adapt", "classifier accuracy",
                      "train steps/s"]
    assert [r[0] for r in rows] == list(bench.VARIANTS)
    assert numbers(rows[0][1])[0] == 401 and numbers(rows[0][2])[0] == 11 and numbers(rows[0][3])[0] == 13
    assert rows[0][4] == "-" and numbers(rows[1][4])[0] == 0.6
    assert "<!-- BEGIN domain -->" in out.read_text()


def test_quick_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    bench.main(["--quick", "--benchmarks", str(out)], run=fake_run)
    assert not out.exists()


def test_every_variant_trains_the_same_steps(tmp_path: Path) -> None:
    import argparse

    args = argparse.Namespace(seeds=2, steps=500, episodes=1, adapt_steps=8, adapt_updates=1)
    jobs = bench.jobs_for(args, tmp_path)
    assert {j["steps"] for j in jobs} == {500} and len(jobs) == 2 * len(bench.VARIANTS)
