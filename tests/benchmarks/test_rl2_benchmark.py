"""The RL² benchmark: its table and target from fake results, the references on the same draws, quick writes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("scipy", reason="the statistics need the bench extra")

from benchmarks import rl2 as bench  # noqa: E402
from benchmarks.benchlib import numbers, read_tables  # noqa: E402

# every held-out task pays 1 on arm 1 and 0 on arm 0: random loses half the pulls, the oracle none, UCB1 a few
# (it tries arm 0 again as ln t grows: 2 of 10 pulls, 6 of 100)
TASK = "gymsuite/TwoArmedBandit-v0 p0=0 p1=1 pulls={n}"


def fake_run(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    return [{**job, "rl2": [0.95 * job["pulls"]] * 3, "test": [TASK.format(n=job["pulls"])] * 3} for job in jobs]


def test_table_and_target_from_fake_results(tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    text = bench.main(["--seeds", "2", "--benchmarks", str(out)], run=fake_run)
    [(header, rows)] = read_tables(text)
    assert header == ["pulls", "strategy", "reward per trial", "regret", "/ UCB1"]
    assert [(r[0], r[1]) for r in rows] == [(f"n = {n}", m) for n in bench.PULLS
                                            for m in ("RL²", "ucb1", "thompson", "bayes", "random", "oracle")]
    by = {(r[0], r[1]): r for r in rows}
    assert numbers(by[("n = 100", "RL²")][2])[0] == 95 and numbers(by[("n = 100", "oracle")][2])[0] == 100
    assert numbers(by[("n = 100", "ucb1")][2])[0] == 94 and numbers(by[("n = 10", "ucb1")][2])[0] == 8
    assert 40 < numbers(by[("n = 100", "random")][2])[0] < 60 and numbers(by[("n = 100", "bayes")][2])[0] >= 97
    assert numbers(by[("n = 100", "RL²")][3])[0] == 5 and numbers(by[("n = 100", "ucb1")][3])[0] == 6  # regret
    assert "n = 10: met (RL² 9.50, UCB1 8.00, x1.19; random arms x0.6" in text
    assert "n = 100: met (RL² 95.00, UCB1 94.00, x1.01; random arms x0.5" in text
    assert "<!-- BEGIN rl2 -->" in out.read_text()


def test_quick_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    bench.main(["--quick", "--benchmarks", str(out)], run=fake_run)
    assert not out.exists()
