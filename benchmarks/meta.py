#!/usr/bin/env python
"""Benchmark meta: Reptile against multi-task pre-training and scratch on held-out CartPole physics.

The family: ``CartPole-v1 length=0.5x:2x masspole=0.5x:2x`` (half-pole length and pole mass each drawn uniformly
between half and twice the nominal). Held out, outside its ranges: a pole a quarter as long, a short heavy one, and a
long light one (a long pole alone is easier than the nominal: even an untrained policy balances it). Each seed runs
``gymsuite meta`` (:func:`gymsuite.api.meta`) with the four methods in one table and PPO's
shipped CartPole defaults: ``reptile`` (meta-iterations of ``meta_batch`` sampled tasks, ``inner_steps`` each),
``fomaml`` (the same iterations, each task's query gradient of PPO's loss at the adapted weights applied to the
meta-weights), ``multitask`` (one PPO run of the same budget on a per-episode mixture of 16 sampled tasks: the
baseline the course insists on) and ``scratch`` (a fresh initialisation); then each initialisation is adapted by
``adapt_steps`` env steps of PPO on each held-out task and evaluated greedily before and after. Cells: the
interquartile mean over seeds x held-out tasks with a 95% bootstrap interval (``gymsuite.common.stats``).

Target (issue 26): the Reptile or FOMAML initialisation beats multi-task pre-training by at least 20% in return after
5k adaptation steps on the held-out tasks. (RL^2 is not built yet.)

    python -m benchmarks.meta          # full: 10 seeds x 4 methods, 200,000 env steps each, ~20-30 min, 2 cores
    python -m benchmarks.meta --quick  # 1 seed, 4,096 steps, 1,024 adaptation steps, 2 episodes; writes nothing
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import benchlib
from gymsuite.common.stats import iqm, summary

FAMILY = "CartPole-v1 length=0.5x:2x masspole=0.5x:2x"
TEST = "CartPole-v1 length=0.25x; CartPole-v1 length=0.3x masspole=3x; CartPole-v1 length=4x masspole=0.25x"
METHODS = ("reptile", "fomaml", "multitask", "scratch")
TARGET = 1.2  # Reptile's after-adaptation IQM over multitask's
FULL = {"seeds": 10, "timesteps": 200_000, "adapt_steps": 5_000, "meta_batch": 4, "inner_steps": 2_048,
        "episodes": 10}
QUICK = {"seeds": 1, "timesteps": 4_096, "adapt_steps": 1_024, "meta_batch": 2, "inner_steps": 1_024, "episodes": 2}
EXPECTED_FPS = 4000  # PPO env steps/s of one of 2 workers on 2 cores (CartPole, 16 envs), measured by --quick
EVAL_SECONDS = 2  # one greedy evaluation of 10 episodes on one held-out task


def run_one(job: dict[str, Any]) -> dict[str, Any]:
    """One seed's table in a scratch directory: per method, the before/after returns on each held-out task."""
    import gymsuite

    start = time.perf_counter()
    with benchlib.quiet():  # progress bars of parallel workers
        results = gymsuite.meta(FAMILY, TEST, list(METHODS), job["timesteps"], job["adapt_steps"], job["run_dir"],
                                seed=job["seed"], meta_batch=job["meta_batch"], inner_steps=job["inner_steps"],
                                eval_episodes=job["episodes"])
    shutil.rmtree(job["run_dir"], ignore_errors=True)
    keep = {m: {k: results["methods"][m][k] for k in ("before", "after")} for m in METHODS}
    return benchlib.job_result(job, {"methods": keep}, start)


def run_all(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    return benchlib.run_jobs(run_one, jobs, workers)


def jobs_for(args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    keys = ("timesteps", "adapt_steps", "meta_batch", "inner_steps", "episodes")
    return [{"seed": s, **{k: getattr(args, k) for k in keys}, "steps": args.timesteps,
             "run_dir": str(workdir / f"s{s}")} for s in range(args.seeds)]


def estimate_minutes(jobs: list[dict[str, Any]], workers: int) -> float:
    tests = len(TEST.split(";"))
    seconds = sum((3 * j["timesteps"] + len(METHODS) * tests * j["adapt_steps"]) / EXPECTED_FPS
                  + 2 * len(METHODS) * tests * EVAL_SECONDS * j["episodes"] / 10 + 10 for j in jobs)
    return seconds / max(workers, 1) / 60


def pooled(results: list[dict[str, Any]], method: str, key: str, task: int | None = None) -> list[float]:
    """The returns of ``method`` (``before`` or ``after``) over seeds and held-out tasks (or one ``task``)."""
    return [float(v) for r in results for j, v in enumerate(r["methods"][method][key]) if task in (None, j)]


def markdown(results: list[dict[str, Any]], args: argparse.Namespace, wall: float, workers: int) -> str:
    tests = [t.strip() for t in TEST.split(";")]
    header = ["method", "before adaptation", f"after {args.adapt_steps:,} steps",
              *(f"after: `{t.removeprefix('CartPole-v1 ')}`" for t in tests)]
    rows = [[m, summary(pooled(results, m, "before")), summary(pooled(results, m, "after")),
             *(summary(pooled(results, m, "after", j)) for j in range(len(tests)))] for m in METHODS]
    reptile, fomaml, multitask = (iqm(pooled(results, m, "after")) for m in ("reptile", "fomaml", "multitask"))
    ratio = max(reptile, fomaml) / multitask if multitask > 0 else float("nan")
    verdict = (f"Target (Reptile or FOMAML beats multi-task pre-training by >= {TARGET - 1:.0%} in return after "
               f"adaptation): {'met' if ratio >= TARGET else 'not met'}: Reptile {reptile:.0f}, FOMAML {fomaml:.0f}, "
               f"multitask {multitask:.0f} (x{ratio:.2f}).")
    text = [f"## Meta-learning (`benchmarks/meta.py`)\n\nMachine: {benchlib.machine()}. Wall time {wall / 60:.1f} "
            f"min with {workers} worker processes. `gymsuite meta --family \"{FAMILY}\" --test \"{TEST}\"` with PPO "
            f"(shipped CartPole defaults), {args.timesteps:,} meta-training env steps per method (Reptile: "
            f"{args.meta_batch} tasks x {args.inner_steps:,} steps per iteration), {args.adapt_steps:,} adaptation "
            f"steps per held-out task, {args.seeds} seeds, {args.episodes} greedy episodes per evaluation. Cells: "
            "interquartile mean over seeds x held-out tasks [95% bootstrap interval].", "",
            benchlib.table(header, rows), "", verdict]
    return "\n".join(text)


Runner = benchlib.Runner


def main(argv: list[str] | None = None, run: Runner = run_all) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    benchlib.add_meta_budget(p, FULL, "task")
    p.add_argument("--episodes", type=int, help=f"greedy episodes per evaluation (default {FULL['episodes']})")
    benchlib.add_run_options(p)
    args = p.parse_args(argv)
    benchlib.fill_budget(args, FULL, QUICK)
    return benchlib.run_benchmark("meta", args, lambda tmp: jobs_for(args, tmp), run,
                                  lambda results, seconds, workers: markdown(results, args, seconds, workers),
                                  estimate_minutes)


if __name__ == "__main__":
    main()
    sys.exit(0)
