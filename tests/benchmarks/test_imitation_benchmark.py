"""The imitation benchmark: its tables from fake returns, a --quick run end to end."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks import imitation as bench
from benchmarks import imitation_report as report
from benchmarks.benchlib import numbers, read_tables
from benchmarks.imitation_setup import Expert, Job, Result

CARTPOLE_WEIGHTS = [[0, 0, -50, -25], [0, 0, 50, 25]]  # the hand-written expert of tests/test_imitation.py


def fake_run(algo: str, n: int, seed: int, normal: float, perturbed: float) -> Result:
    job = Job("CartPole-v1", algo, n, seed, "expert", "demos.npz", f"runs/{algo}-{n}-{seed}", 0, 10)
    return Result(job, {"normal": normal, "perturbed": perturbed}, 1.0, 2.0, 1000)


def score_table(text: str) -> dict[str, dict[str, list[float]]]:
    """algorithm -> column -> numbers, from the first table of the section (the scores)."""
    header, rows = read_tables(text)[0]
    return {row[0]: {col: numbers(cell) for col, cell in zip(header, row, strict=True)} for row in rows}


@pytest.mark.parametrize("bc_falls", [True, False])
def test_report_tables_are_computed_from_the_returns(tmp_path: Path, bc_falls: bool) -> None:
    pytest.importorskip("matplotlib", reason="the plots need the bench extra")
    expert = Expert("CartPole-v1", "out/expert-CartPole-v1", "demos.npz", 100_000, True, 10.0, 20, 500.0,
                    {"normal": 0.1, "perturbed": 2.5},
                    {"expert/normal": 500.0, "expert/perturbed": 490.0,
                     "random/normal": 20.0, "random/perturbed": 10.0})
    results = []
    for n in (1, 5, 20):
        for seed in (0, 1):
            bc = (500.0 if n == 20 else 200.0, 150.0) if bc_falls else (500.0, 490.0)
            results += [fake_run("bc", n, seed, *bc), fake_run("dagger", n, seed, 500.0, 490.0),
                        fake_run("gail", n, seed, 500.0 if bc_falls else 400.0, 490.0),
                        fake_run("airl", n, seed, 260.0, 250.0)]
    args = argparse.Namespace(envs=["CartPole-v1"], algos=["bc", "dagger", "gail", "airl"], episodes=[1, 5, 20],
                              seeds=2, eval_episodes=10, workers=2, expert_seed=0)
    text = report.markdown({"CartPole-v1": expert}, results, args, 60.0, "imitation.png")
    (header, rows), (return_header, returns) = read_tables(text)
    assert header == ["algorithm", "budget", "N=1", "N=5", "N=20", "perturbed, N=1", "perturbed, N=5",
                      "perturbed, N=20", "median train s"]
    assert [r[0] for r in rows] == [r[0] for r in returns] == ["BC", "DAgger", "GAIL", "AIRL"]
    assert return_header == ["algorithm", "N=1", "N=5", "N=20"]
    scores = score_table(text)
    assert scores["AIRL"]["budget"] == [1000] and scores["AIRL"]["N=1"] == [0.5, 0.0]  # (260-20)/(500-20)
    assert scores["AIRL"]["perturbed, N=1"] == [0.5, 0.0]  # (250-10)/(490-10)
    assert scores["DAgger"]["N=20"] == [1.0, 0.0] and scores["DAgger"]["median train s"] == [1.0]
    if bc_falls:
        assert scores["BC"]["N=1"] == [0.38, 0.0] and scores["BC"]["N=20"] == [1.0, 0.0]  # (200-20)/480
        assert scores["BC"]["perturbed, N=1"] == [0.29, 0.0]  # (150-10)/480
        assert numbers(returns[0][1]) == [200.0, 150.0]
    else:
        assert scores["BC"]["N=1"] == scores["BC"]["perturbed, N=1"] == [1.0, 0.0]
        assert scores["GAIL"]["N=5"] == [0.79, 0.0]  # (400-20)/480
    # Targets (issue 5): the fraction of the expert's return and the score, computed from the same cells.
    cells = report.summarise(results, {"CartPole-v1": expert})
    assert report.get(cells, "CartPole-v1", "bc", 20, key="fraction") == 1.0
    assert report.get(cells, "CartPole-v1", "gail", 5, key="fraction") == (1.0 if bc_falls else 0.8)
    report.plot({"CartPole-v1": expert}, results, args, tmp_path / "imitation.png")
    assert (tmp_path / "imitation.png").stat().st_size > 1000


def test_quick_run_reuses_an_expert_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       linear_expert: Callable[..., object]) -> None:
    out = tmp_path / "out"
    linear_expert("CartPole-v1", CARTPOLE_WEIGHTS, out / "expert-CartPole-v1")  # a hand-made expert is usable
    assert bench.main(["--quick", "--envs", "CartPole-v1", "--algos", "bc", "dagger", "--episodes", "1",
                       "--eval-episodes", "2", "--workers", "1", "--out", str(out),
                       "--benchmarks", str(tmp_path / "B.md"), "--plot", str(tmp_path / "p.png")]) == 0
    text = capsys.readouterr().out
    raw = json.loads((out / "results.json").read_text())
    (expert,) = raw["experts"]
    assert not expert["trained"] and expert["returns"]["expert/normal"] == 500.0  # reused, not retrained
    scores = score_table(text)
    assert list(scores) == ["BC", "DAgger"]
    assert scores["BC"]["budget"] == [5024]  # QUICK_STEPS' 5,000 demo samples, rounded up to whole batches
    for row in scores.values():
        assert len(row["N=1"]) == 2 and len(row["perturbed, N=1"]) == 2 and row["median train s"][0] >= 0
    assert {r["job"]["algo"] for r in raw["results"]} == {"bc", "dagger"}
    for r in raw["results"]:
        assert set(r["returns"]) == {"normal", "perturbed"} and all(1 <= v <= 500 for v in r["returns"].values())
    assert (out / "runs" / "CartPole-v1-bc-1-0" / "model.zip").is_file()
    assert not (tmp_path / "B.md").exists() and not (tmp_path / "p.png").exists()


def test_an_expert_the_product_no_longer_loads_is_trained_again(cartpole_run: Path, tmp_path: Path) -> None:
    import shutil

    from gymsuite.common.files import read_yaml

    expert = tmp_path / "expert"
    shutil.copytree(cartpole_run, expert)
    timesteps = read_yaml(expert / "config.yaml")["timesteps"]
    assert bench.usable_expert(expert, "CartPole-v1", timesteps)
    (expert / "model.zip").write_bytes(b"not a zip")  # e.g. a file of an older format the loader refuses
    assert not bench.usable_expert(expert, "CartPole-v1", timesteps)


def test_an_expert_trained_for_the_rounded_budget_is_reused(cartpole_run: Path) -> None:
    from gymsuite.common.files import read_yaml

    cfg = read_yaml(cartpole_run / "config.yaml")
    rollout = cfg["hyperparams"]["n_steps"] * cfg["n_envs"]
    requested = cfg["timesteps"] - rollout + 1  # rounded up to whole rollouts, it is what the run trained
    assert bench.usable_expert(cartpole_run, "CartPole-v1", requested)
    assert not bench.usable_expert(cartpole_run, "CartPole-v1", cfg["timesteps"] - rollout)
    assert not bench.usable_expert(cartpole_run, "CartPole-v1", cfg["timesteps"] + 1)
