"""The attack benchmark: its tables and its verdict from fake results with known returns."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("scipy", reason="the statistics need the bench extra")

from benchmarks import attack as bench  # noqa: E402
from benchmarks.benchlib import numbers, read_tables  # noqa: E402

# per variant: (clean, worst at 0.15) of every seed
KNOWN = {"plain PPO": (500.0, 10.0), bench.VARIANTS[1].name: (480.0, 300.0), bench.VARIANTS[2].name: (400.0, 260.0)}


def fake_results(seeds: int) -> list[dict[str, Any]]:
    out = []
    for variant, (clean, worst) in KNOWN.items():
        for seed in range(seeds):
            returns = {"worst": {"0": clean, "0.15": worst}, "pgd": {"0": clean, "0.15": worst + 5}}
            out.append({"env": "CartPole-v1", "variant": variant, "seed": seed, "returns": returns,
                        "train_seconds": 60.0})
    return out


def test_tables_and_verdict_from_known_returns() -> None:
    text = bench.section(fake_results(5), ("CartPole-v1",), [0.0, 0.15], list(range(5)))
    (header, rows), = read_tables(text)
    assert header == ["variant", "clean", "worst at eps 0.15", "train s (mean)"]
    assert [r[0] for r in rows] == list(KNOWN)
    for row in rows:
        clean, worst = KNOWN[row[0]]
        assert numbers(row[1])[0] == clean and numbers(row[2])[0] == worst
    assert f"{bench.VARIANTS[1].name}: clean 480, worst 300 (met)" in text
    assert f"{bench.VARIANTS[2].name}: clean 400, worst 260 (not met)" in text


def test_quick_budgets_and_estimate() -> None:
    args = type("Args", (), {"cartpole_steps": 4096, "acrobot_steps": 4096, "eps": [0.0, 0.15], "attacks": ["pgd"],
                             "episodes": 2, "attack_steps": 2})()
    jobs = bench.jobs_for(bench.ENVS, [0, 1], args, __import__("pathlib").Path("/tmp"))
    assert len(jobs) == len(bench.ENVS) * len(bench.VARIANTS) * 2
    assert 0 < bench.estimate_minutes(jobs, 2) < 10
