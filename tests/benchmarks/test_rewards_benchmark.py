"""The reward benchmark: a quick run through the pipeline; its bookkeeping (jobs, summary, tables) on fake results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks import rewards as bench
from benchmarks.benchlib import numbers, read_tables

COLUMNS = ["variant", "reached goal", "first success (steps)", "final return", "final success", "steps/s"]


def fake_run(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    """Every variant but plain PPO reaches the goal at 1000 * (seed + 1) steps."""
    out = []
    for job in jobs:
        ok = job["variant"] != "ppo"
        out.append({**{k: v for k, v in job.items() if k != "curiosity"}, "seconds": 1.0, "fps": 100.0 * (1 + ok),
                    "first_success": 1000 * (job["seed"] + 1) if ok else None, "tv_fraction": 0.5 * ok,
                    "final_return": -100.0 if ok else -200.0, "final_success": float(ok)})
    return out


def test_quick_mode_trains_and_evaluates_through_the_pipeline(capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    summary = bench.main(["--quick", "--envs", "gymsuite/SparseGrid-v0", "--variants", "ppo", "icm",
                          "--sparsegrid-steps", "1024", "--noisy-tv-steps", "0", "--workers", "1",
                          "--benchmarks", str(tmp_path / "B.md")])
    (header, rows), = read_tables(capsys.readouterr().out)
    assert header == COLUMNS and [r[0] for r in rows] == ["PPO", "PPO + icm"]
    for row, variant in zip(rows, ("ppo", "icm"), strict=True):
        s = summary[("gymsuite/SparseGrid-v0", variant)]
        assert numbers(row[1]) == [s["reached"], 1] and s["steps"] == 1024
        assert row[2] == "never" or 0 < numbers(row[2])[0] <= 1024
        assert numbers(row[3]) == [pytest.approx(s["return_mean"], abs=0.05), 0.0]
        assert 0 <= s["return_mean"] <= 1 and numbers(row[4])[0] in (0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100)
        assert numbers(row[5])[0] > 0
    assert not (tmp_path / "B.md").exists()  # --quick writes nothing


def test_summary_and_table_from_results(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the plots need the bench extra")
    out = tmp_path / "BENCHMARKS.md"
    summary = bench.main(["--seeds", "3", "--first-seed", "7", "--envs", "MountainCar-v0", "--seeds-tv", "2",
                          "--benchmarks", str(out), "--plot", str(tmp_path / "plot.png")], run=fake_run)
    ppo, icm = summary[("MountainCar-v0", "ppo")], summary[("MountainCar-v0", "icm")]
    assert (ppo["reached"], ppo["median_first"], ppo["seeds"]) == (0, None, 3)
    assert (icm["reached"], icm["median_first"], icm["firsts"]) == (3, 9000, [8000, 9000, 10000])
    assert summary[("gymsuite/NoisyTVGrid-v0", "raw")]["seeds"] == 2
    (header, rows), (tv_header, tv_rows) = read_tables(out.read_text())
    assert header == COLUMNS and [r[0] for r in rows] == ["PPO", "PPO + shaping", "PPO + icm", "PPO + rnd"]
    cells = {r[0]: r for r in rows}
    assert cells["PPO"][1:3] == ["0/3", "never"] and numbers(cells["PPO"][3]) == [-200.0, 0.0]
    assert [numbers(c) for c in cells["PPO + icm"][1:]] == [[3, 3], [9000], [-100.0, 0.0], [100], [200, 100]]
    assert tv_header == ["variant", "steps watching TV", "reached goal"] and len(tv_rows) == 2
    assert [numbers(r[1]) for r in tv_rows] == [[50], [50]]
    assert (tmp_path / "plot.png").stat().st_size > 1000


def test_jobs_cover_variants_seeds_and_budgets() -> None:
    seen: list[dict[str, Any]] = []
    bench.main(["--seeds", "2", "--variants", "ppo", "rnd", "--mountaincar-steps", "123",
                "--sparsegrid-steps", "45", "--noisy-tv-steps", "0", "--no-write"],
               run=lambda jobs, w: seen.extend(jobs) or fake_run(jobs, w))
    keys = {(j["env"], j["variant"], j["seed"], j["steps"]) for j in seen}
    assert keys == {(e, v, s, n) for e, n in (("MountainCar-v0", 123), ("gymsuite/SparseGrid-v0", 45))
                    for v in ("ppo", "rnd") for s in (0, 1)}


@pytest.mark.parametrize("variant", ["ppo", "shaping", "closeness", "icm", "rnd"])
def test_every_variant_has_the_same_ppo_settings(variant: str) -> None:
    job = {"env": "gymsuite/SparseGrid-v0", "variant": variant, "seed": 4, "steps": 1000}
    cfg = bench.run_config(job)
    assert {k: cfg.hyperparams[k] for k in bench.PPO_KWARGS} == bench.PPO_KWARGS
    assert (cfg.n_envs, cfg.timesteps, cfg.seed) == (bench.N_ENVS, 1000, 4)
    assert cfg.hyperparams["env_kwargs"] == {"size": 20} and cfg.hyperparams["normalize"] == {"norm_reward": False}
    assert (cfg.curiosity, cfg.curiosity_kwargs.get("seed")) == ((variant, 4) if variant in ("icm", "rnd") else
                                                                 (None, None))
    assert (cfg.reward_shaping is not None) == (variant in ("shaping", "closeness"))
