"""The imitation benchmark: a report generated from the numbers, a --quick run end to end."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks import imitation as bench

CARTPOLE_WEIGHTS = [[0, 0, -50, -25], [0, 0, 50, 25]]  # the hand-written expert of tests/test_imitation.py


def fake_run(algo: str, n: int, seed: int, normal: float, perturbed: float) -> bench.Result:
    job = bench.Job("CartPole-v1", algo, n, seed, "expert", "demos.npz", f"runs/{algo}-{n}-{seed}", 0, 10)
    return bench.Result(job, {"normal": normal, "perturbed": perturbed}, 1.0, 2.0, 1000)


@pytest.mark.parametrize("bc_falls", [True, False])
def test_report_is_generated_from_the_numbers(tmp_path: Path, bc_falls: bool) -> None:
    expert = bench.Expert("CartPole-v1", "out/expert-CartPole-v1", "demos.npz", 100_000, True, 10.0, 20, 500.0,
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
                              seeds=2, eval_episodes=10, workers=2)
    text = bench.markdown({"CartPole-v1": expert}, results, args, 60.0, "imitation.png")
    assert "| AIRL | 1,000 generator steps | 0.50 ± 0.00 | 0.50 ± 0.00 | 0.50 ± 0.00 |" in text  # (260-20)/(500-20)
    assert "- BC with 20 episodes reaches at least 95% of the expert's return: 100.0% (score 1.00): **PASS**" in text
    if bc_falls:
        assert "the score of BC falls by 0.62" in text  # 1.0 at 20 episodes against (200-20)/480 at 1
        assert "compounding-error effect: BC falls while DAgger and GAIL hold up" in text
        assert "GAIL with 5 episodes reaches at least 95% of the expert's return: 100.0% (score 1.00): **PASS**" in text
    else:
        assert "BC does not fall" in text and "effect does not show" in text
        assert "GAIL with 5 episodes reaches at least 95% of the expert's return: 80.0% (score 0.79): **FAIL**" in text
    bench.plot({"CartPole-v1": expert}, results, args, tmp_path / "imitation.png")
    assert (tmp_path / "imitation.png").stat().st_size > 1000


def test_quick_run_reuses_an_expert_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       linear_expert: Callable[..., object]) -> None:
    out = tmp_path / "out"
    linear_expert("CartPole-v1", CARTPOLE_WEIGHTS, out / "expert-CartPole-v1")  # a hand-made expert is usable
    assert bench.main(["--quick", "--envs", "CartPole-v1", "--algos", "bc", "dagger", "--episodes", "1",
                       "--eval-episodes", "2", "--workers", "1", "--out", str(out),
                       "--benchmarks", str(tmp_path / "B.md"), "--plot", str(tmp_path / "p.png")]) == 0
    text = capsys.readouterr().out
    assert "reused from `expert-CartPole-v1/`" in text and "return 500.0 normal" in text
    assert "| BC | 5,024 demo samples |" in text and "| DAgger |" in text
    raw = json.loads((out / "results.json").read_text())
    assert {r["job"]["algo"] for r in raw["results"]} == {"bc", "dagger"}
    assert (out / "runs" / "CartPole-v1-bc-1-0" / "model.zip").is_file()
    assert not (tmp_path / "B.md").exists() and not (tmp_path / "p.png").exists()
