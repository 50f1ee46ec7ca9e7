"""The defaults benchmark: its table and verdict from fake results, and its quick mode end to end (writing nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks import defaults as bench


def fake_run(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    assert workers == 1 and {j["preset"] for j in jobs} == {"zoo", "gymsuite"}
    out = []
    for job in jobs:
        fast = job["preset"] == "gymsuite"
        out.append({**job, "reached": True, "steps": 6144 if fast else 26624, "seconds": 1.5 if fast else 9.0,
                    "budget_steps": 30208 if fast else 100000, "final_return": 480.0,
                    "shaped": fast and job["env"] == "MountainCar-v0"})
    return out


def test_table_and_verdict_from_known_results(tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    out.write_text("# B\n")
    text = bench.main(["--seeds", "3", "--benchmarks", str(out)], run=fake_run)
    assert ("| ppo on CartPole-v1 | gymsuite | 30,208 | 3/3 | 6,144 [6,144, 6,144] | 1.50 [1.50, 1.50] "
            "| 480.0 [480.0, 480.0] |") in text
    assert "| dqn on MountainCar-v0 | gymsuite (+ its reward shaping) |" in text
    assert "| dqn on MountainCar-v0 | zoo |" in text
    assert "6.0x less wall time" in text and "target (>= 2x, at least as many seeds) met" in text
    assert "<!-- BEGIN defaults -->" in out.read_text()


def test_quick_mode_trains_both_presets_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    out.write_text("# B\n")
    text = bench.main(["--quick", "--benchmarks", str(out)])
    assert "| ppo on CartPole-v1 | zoo | 4,096 |" in text and "| ppo on CartPole-v1 | gymsuite | 4,096 |" in text
    assert "| dqn on MountainCar-v0 | gymsuite (+ its reward shaping) | 4,096 |" in text  # the entry's shaping
    assert out.read_text() == "# B\n"
