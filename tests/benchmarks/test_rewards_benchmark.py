"""The reward benchmark's bookkeeping (job list, summary, table, plot) on made-up results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks import rewards as benchmark_rewards


def fake_run(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    """Every variant but plain PPO reaches the goal at 1000 * (seed + 1) steps."""
    out = []
    for job in jobs:
        ok = job["variant"] != "ppo"
        out.append({**{k: v for k, v in job.items() if k != "curiosity"}, "seconds": 1.0, "fps": 100.0 * (1 + ok),
                    "first_success": 1000 * (job["seed"] + 1) if ok else None, "tv_fraction": 0.5 * ok,
                    "final_return": -100.0 if ok else -200.0, "final_success": float(ok)})
    return out


def test_summary_and_table_from_results(capsys: Any, tmp_path: Path) -> None:
    summary = benchmark_rewards.main(["--seeds", "3", "--first-seed", "7", "--no-write", "--envs", "MountainCar-v0",
                                      "--seeds-tv", "2"], run=fake_run)
    ppo, icm = summary[("MountainCar-v0", "ppo")], summary[("MountainCar-v0", "icm")]
    assert (ppo["reached"], ppo["median_first"], ppo["seeds"]) == (0, None, 3)
    assert (icm["reached"], icm["median_first"], icm["firsts"]) == (3, 9000, [8000, 9000, 10000])
    assert summary[("gymsuite/NoisyTVGrid-v0", "raw")]["seeds"] == 2
    text = capsys.readouterr().out
    assert "seeds 7..9" in text and "| PPO | 0/3 | never |" in text
    assert "| PPO + icm | 3/3 | 9,000 | -100.0 ± 0.0 | 100% | 200 (+100%) |" in text
    benchmark_rewards.plot(summary, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 1000


def test_jobs_cover_variants_seeds_and_budgets() -> None:
    seen: list[dict[str, Any]] = []
    benchmark_rewards.main(["--seeds", "2", "--variants", "ppo", "rnd", "--mountaincar-steps", "123",
                            "--sparsegrid-steps", "45", "--noisy-tv-steps", "0", "--no-write"],
                           run=lambda jobs, w: seen.extend(jobs) or fake_run(jobs, w))
    keys = {(j["env"], j["variant"], j["seed"], j["steps"]) for j in seen}
    assert keys == {(e, v, s, n) for e, n in (("MountainCar-v0", 123), ("gymsuite/SparseGrid-v0", 45))
                    for v in ("ppo", "rnd") for s in (0, 1)}
