"""The continual benchmark: its table and target from fake results, and its quick mode's promise to write nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("scipy", reason="the statistics need the bench extra")

from benchmarks import continual as bench  # noqa: E402
from benchmarks.benchlib import numbers, read_tables  # noqa: E402

# method -> (normalised average, forgetting); EWC keeps 0.9 of single-task with forgetting 0.05, replay does not
FAKE = {"finetune": (0.35, 0.9), "ewc": (0.90, 0.05), "replay": (0.80, 0.2), "packnet": (0.95, 0.0),
        "progressive": (0.9, 0.0), "multitask": (0.98, None), "single": (1.0, None)}


def fake_run(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    out = []
    for job in jobs:
        avg, forgetting = FAKE[job["method"]]
        out.append({**job, "average_performance": 475 * avg, "average_performance_normalized": avg,
                    "forgetting": forgetting, "backward_transfer": None if forgetting is None else -100.0,
                    "forward_transfer": None if forgetting is None else 1.0 + job["seed"]})
    return out


def test_table_and_target_from_fake_results(tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    text = bench.main(["--seeds", "3", "--steps", "1000", "--benchmarks", str(out)], run=fake_run)
    [(header, rows), (mini_header, mini_rows)] = read_tables(text)  # CartPole's sequence, then MiniGrid's
    assert mini_header == header and [r[0] for r in mini_rows] == list(bench.MINIGRID_METHODS)
    assert bench.MINIGRID_TASKS in text and "60,000 env steps per task (multitask: 180,000 at once)" in text
    assert header[:4] == ["method", "average return", "average (normalised)", "forgetting"]
    assert [r[0] for r in rows] == list(bench.METHODS)
    assert numbers(rows[1][2])[0] == 0.9 and numbers(rows[1][3])[0] == 0.05
    assert numbers(rows[1][5])[0] == 2.0  # forward transfer: the IQM of 1, 2, 3
    assert rows[6][3] == "-"  # single-task has no forgetting
    assert "): met. EWC 90.0% of single-task's average return, forgetting 0.05; replay 80.0%" in text
    cartpole, minigrid = text.split("### MiniGrid")
    assert "| ewc | 428 [" in cartpole and "| ewc | 427.50 [" in minigrid  # MiniGrid's 0..1 returns: two decimals
    assert "fine-tuning's forgetting 0.90" in text and "<!-- BEGIN continual -->" in out.read_text()


def test_quick_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    bench.main(["--quick", "--benchmarks", str(out)], run=fake_run)
    assert not out.exists()


def test_each_part_runs_its_own_sequence_and_budget(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    def record(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
        seen.extend(jobs)
        return fake_run(jobs, workers)

    text = bench.main(["--part", "minigrid", "--seeds", "2", "--minigrid-steps", "3000", "--no-write"], run=record)
    assert {j["part"] for j in seen} == {"minigrid"} and {j["steps"] for j in seen} == {3000}
    assert [j["method"] for j in seen] == [m for m in bench.MINIGRID_METHODS for _ in range(2)]
    assert len(read_tables(text)) == 1 and "3,000 env steps per task" in text
    assert bench.PARTS["minigrid"]["hyper"]["n_steps"] == 128  # the MiniGrid runs' own PPO settings
