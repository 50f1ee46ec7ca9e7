#!/usr/bin/env python
"""Benchmark mworld: meta-learning on Meta-World's ML1 reach, success rates on held-out goals (Meta-World's protocol).

The family: ML1 reach's 50 train goals (``metaworld:ML1/reach-v3 task=0:49``; the goal is hidden from the
observation, so the agent must find it); held out: ML1's first TEST_GOALS test goals (``split=test``), which
Meta-World draws apart from the train goals. Each seed runs ``gymsuite meta`` (:func:`gymsuite.api.meta`) with the
four methods in one table: ``reptile``, ``fomaml``, ``multitask`` (PPO on a per-episode mixture of 16 train goals:
the baseline) and ``scratch``; each initialisation is adapted by ``adapt_steps`` env steps of PPO on each held-out
goal (two 500-step episodes per env for each of PPO's 4 envs per 4,096 steps) and evaluated greedily before and
after. An episode succeeds if ``info["success"]`` is ever 1 (Meta-World's ``evaluation``); an ML1 goal's start is
fixed and the greedy policy deterministic, so one evaluation episode per goal measures it. PPO: HYPER (4 envs x 512
steps; the generic defaults' 8 x 2,048 steps with 10 epochs of 64 are slow for this budget). Cells: the mean success
rate over held-out goals (Meta-World's figure) and the interquartile mean of the return, each over seeds x goals
with a 95% bootstrap interval (``gymsuite.common.stats``).

Anchors (issue 26, not comparable in scale: ML10 is ten environments, these are one environment's goals and far
fewer steps): MAML's ML10 meta-test success 36% in the Meta-World paper, 13% in a 2025 re-run.

    python -m benchmarks.mworld          # full: 5 seeds x 4 methods, 100,000 meta-training steps, ~30 min, 2 cores
    python -m benchmarks.mworld --quick  # 1 seed, 4,096 steps, 2,048 adaptation steps, 2 goals, 3 min; writes nothing

Needs the metaworld extra (``pip install "gymsuite[metaworld]"``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import benchlib
from gymsuite.common.stats import summary

FAMILY = "metaworld:ML1/reach-v3 task=0:49"
METHODS = ("reptile", "fomaml", "multitask", "scratch")
HYPER = {"n_envs": 4, "n_steps": 512, "batch_size": 256, "n_epochs": 5}
FULL = {"seeds": 5, "timesteps": 100_000, "adapt_steps": 10_240, "meta_batch": 2, "inner_steps": 2_048,
        "test_goals": 5}
QUICK = {"seeds": 1, "timesteps": 4_096, "adapt_steps": 2_048, "meta_batch": 2, "inner_steps": 2_048, "test_goals": 2}
EXPECTED_FPS = 500  # env steps/s of one of 2 workers on 2 cores, runs' setup included (one seed on one core: 490)
EVAL_SECONDS = 1  # one greedy 500-step episode


def test_spec(goals: int) -> str:
    """The held-out goals: ML1's test goals 0 .. ``goals`` - 1."""
    return f"metaworld:ML1/reach-v3 split=test task=0:{goals - 1}"


def run_one(job: dict[str, Any]) -> dict[str, Any]:
    """One seed's table in a scratch directory: per method, each held-out goal's success and return, before and
    after adaptation."""
    import gymsuite

    start = time.perf_counter()
    with benchlib.quiet():  # progress bars of parallel workers
        results = gymsuite.meta(FAMILY, test_spec(job["test_goals"]), list(METHODS), job["timesteps"],
                                job["adapt_steps"], job["run_dir"], seed=job["seed"], meta_batch=job["meta_batch"],
                                inner_steps=job["inner_steps"], eval_episodes=1, hyperparams=HYPER)
    shutil.rmtree(job["run_dir"], ignore_errors=True)
    keys = ("before", "after", "success_before", "success_after")
    keep = {m: {k: results["methods"][m][k] for k in keys} for m in METHODS}
    return benchlib.job_result(job, {"methods": keep}, start)


def run_all(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    return benchlib.run_jobs(run_one, jobs, workers)


def jobs_for(args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    keys = ("timesteps", "adapt_steps", "meta_batch", "inner_steps", "test_goals")
    return [{"seed": s, **{k: getattr(args, k) for k in keys}, "steps": args.timesteps,
             "run_dir": str(workdir / f"s{s}")} for s in range(args.seeds)]


def estimate_minutes(jobs: list[dict[str, Any]], workers: int) -> float:
    seconds = sum((3 * j["timesteps"] + len(METHODS) * j["test_goals"] * j["adapt_steps"]) / EXPECTED_FPS
                  + 2 * len(METHODS) * j["test_goals"] * EVAL_SECONDS + 30 for j in jobs)
    return seconds / max(workers, 1) / 60


def pooled(results: list[dict[str, Any]], method: str, key: str) -> list[float]:
    """``key`` (``before``, ``after``, ``success_before``, ``success_after``) of ``method`` over seeds x goals."""
    return [float(v) for r in results for v in r["methods"][method][key]]


def mean_ci(values: list[float], resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """The 95% percentile-bootstrap interval of the mean of ``(S,)`` values (seeded). Success rates are 0 or 1 per
    goal and seed, where the IQM would drop the quarters that decide them: Meta-World reports the mean."""
    x = np.asarray(values, np.float64)
    draws = np.random.default_rng(seed).choice(x, size=(resamples, len(x))).mean(axis=1)  # (resamples,)
    return float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))


def rate(values: list[float]) -> str:
    """A success rate as ``62% [40%, 80%]``: the mean with its 95% bootstrap interval."""
    if not values:
        return "-"
    low, high = mean_ci(values)
    return f"{np.mean(values):.0%} [{low:.0%}, {high:.0%}]"


def markdown(results: list[dict[str, Any]], args: argparse.Namespace, wall: float, workers: int) -> str:
    header = ["method", "success before adaptation", f"success after {args.adapt_steps:,} steps",
              "return before (IQM)", "return after (IQM)"]
    rows = [[m, rate(pooled(results, m, "success_before")), rate(pooled(results, m, "success_after")),
             summary(pooled(results, m, "before")), summary(pooled(results, m, "after"))] for m in METHODS]
    best = max(METHODS, key=lambda m: float(np.mean(pooled(results, m, "success_after"))))
    hyper = " ".join(f"{k}={v}" for k, v in HYPER.items())
    text = [f"## Meta-World ML1 reach (`benchmarks/mworld.py`)\n\nMachine: {benchlib.machine()}. Wall time "
            f"{wall / 60:.1f} min with {workers} worker processes. `gymsuite meta --family \"{FAMILY}\" --test "
            f"\"{test_spec(args.test_goals)}\" --eval-episodes 1 --hyperparams {hyper}`, {args.timesteps:,} "
            f"meta-training env steps per method (Reptile, FOMAML: {args.meta_batch} goals x {args.inner_steps:,} "
            f"steps per iteration), {args.adapt_steps:,} adaptation steps per held-out goal, {args.seeds} seeds. "
            "Success: an episode in which info[\"success\"] was ever 1 (Meta-World's protocol); cells: the mean over "
            "seeds x held-out goals [95% bootstrap interval]; returns: interquartile mean.", "",
            benchlib.table(header, rows), "",
            f"Highest success after adaptation: {best}. For scale only (ten environments, far more steps): MAML's "
            "ML10 meta-test success, 36% (Meta-World paper) and 13% (a 2025 re-run)."]
    return "\n".join(text)


Runner = benchlib.Runner


def main(argv: list[str] | None = None, run: Runner = run_all) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    benchlib.add_meta_budget(p, FULL, "goal")
    p.add_argument("--test-goals", type=int, help=f"held-out test goals (default {FULL['test_goals']})")
    benchlib.add_run_options(p)
    args = p.parse_args(argv)
    benchlib.fill_budget(args, FULL, QUICK)
    return benchlib.run_benchmark("mworld", args, lambda tmp: jobs_for(args, tmp), run,
                                  lambda results, seconds, workers: markdown(results, args, seconds, workers),
                                  estimate_minutes)


if __name__ == "__main__":
    main()
    sys.exit(0)
