#!/usr/bin/env python
"""Benchmark the shipped defaults' time to a solved agent: ``--preset gymsuite`` against ``--preset zoo``.

For every task and algorithm with a gymsuite entry (``agents/hyperparams/gymsuite/<algo>.yml``), both presets train
through ``gymsuite train``'s pipeline with ``--target-return auto`` (the env's threshold:
:mod:`gymsuite.envs.thresholds`) on fresh seeds (1000 and up; the studies tuned on seeds 0-42), each for at most its
own budget (``n_timesteps``), evaluated every ``--eval-every`` env steps (5 episodes, and 10 more when they reach
the threshold: the run stops when all 15 do; the same interval for both, so neither is favoured by a finer grid).
The runs go one at a time, the two presets alternating seed by seed, so both see the same machine. Per preset: the
share of seeds that reached the threshold, and over those seeds the env steps and training seconds (wall time,
evaluations included) to it: interquartile mean [95% bootstrap interval], and the return of the model it stopped
with on the final evaluation's 10 other episodes (does the solved agent stay solved?).

Target (issue 28): at least 2x less wall time to the threshold than the zoo's defaults, with at least as many
seeds reaching it.

    python -m benchmarks.defaults            # full run, 10 seeds per preset (about 62 min on 2 cores for 7 entries)
    python -m benchmarks.defaults --quick    # 2 seeds, a small budget; writes nothing
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import benchlib
from gymsuite.agents.run.config import tuned_entries
from gymsuite.common.stats import iqm, iqm_ci
from gymsuite.envs.thresholds import threshold

PRESETS = ("zoo", "gymsuite")
FULL = {"seeds": 10, "eval_every": 2048, "budget": None}
QUICK = {"seeds": 2, "eval_every": 1024, "budget": 4096}
FIRST_SEED = 1000  # fresh: the studies tuned on seeds 0-2, 10-14, 20-22 or 40-42
TARGET_SPEEDUP = 2.0


def jobs_for(seeds: int, eval_every: int, budget: int | None, workdir: Path) -> list[dict[str, Any]]:
    """One job per cell, seed and preset, the presets alternating seed by seed."""
    return [{"algo": algo, "env": env, "seed": FIRST_SEED + s, "preset": preset, "eval_every": eval_every,
             "budget": budget, "workdir": str(workdir)}
            for algo, env in tuned_entries() for s in range(seeds) for preset in PRESETS]


def run_one(job: dict[str, Any]) -> dict[str, Any]:
    """Train one seed of one preset to the env's threshold (or its budget); its steps and seconds to it."""
    start = time.perf_counter()
    cli = {"algo": job["algo"], "env": job["env"], "seed": job["seed"], "preset": job["preset"],
           "target_return": "auto", "eval_freq": job["eval_every"], "checkpoint_freq": 0, "eval_episodes": 10}
    if job["budget"] is not None:
        cli["timesteps"] = job["budget"]
    cfg = benchlib.config(cli)
    run_dir = Path(job["workdir"]) / f"{job['algo']}-{job['preset']}-s{job['seed']}"
    result = benchlib.train(cfg, run_dir)
    ev = result.eval
    return benchlib.job_result(job, {"reached": bool(ev["target_reached"]), "steps": ev["target_steps"],
                                     "seconds": ev["target_seconds"], "budget_steps": cfg.timesteps,
                                     "final_return": ev["mean_return"], "shaped": cfg.shaping is not None}, start)


def run_all(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    return benchlib.run_jobs(run_one, jobs, workers)


def summary(values: list[float], digits: int = 1) -> str:
    if not values:
        return "n/a"
    low, high = iqm_ci(values)
    return f"{iqm(values):,.{digits}f} [{low:,.{digits}f}, {high:,.{digits}f}]"


def markdown(results: list[dict[str, Any]], args: argparse.Namespace, wall: float) -> str:
    rows, verdicts = [], []
    for algo, env in dict.fromkeys((r["algo"], r["env"]) for r in results):
        per = {p: [r for r in results if (r["algo"], r["env"], r["preset"]) == (algo, env, p)] for p in PRESETS}
        reached = {p: [r for r in per[p] if r["reached"]] for p in PRESETS}
        for preset in PRESETS:
            runs = per[preset]
            shaped = " (+ its reward shaping)" if runs[0].get("shaped") else ""  # an entry's (MountainCar DQN)
            rows.append([f"{algo} on {env}", preset + shaped, f"{runs[0]['budget_steps']:,}",
                         f"{len(reached[preset])}/{len(runs)}",
                         summary([float(r["steps"]) for r in reached[preset]], 0),
                         summary([float(r["seconds"]) for r in reached[preset]], 2),
                         summary([float(r["final_return"]) for r in reached[preset]], 1)])
        if reached["zoo"] and reached["gymsuite"]:
            speedup = iqm([r["seconds"] for r in reached["zoo"]]) / iqm([r["seconds"] for r in reached["gymsuite"]])
            met = speedup >= TARGET_SPEEDUP and len(reached["gymsuite"]) >= len(reached["zoo"])
            verdicts.append(f"{algo} on {env}: the gymsuite preset reaches {threshold(env):g} in "
                            f"{speedup:.1f}x less wall time than the zoo's (IQM over the seeds that reached it), "
                            f"{len(reached['gymsuite'])} against {len(reached['zoo'])} seeds: target "
                            f"(>= {TARGET_SPEEDUP:g}x, at least as many seeds) {'met' if met else 'not met'}.")
        else:
            verdicts.append(f"{algo} on {env}: a preset reached the threshold in no seed: target not met.")
    return "\n".join([
        "## Shipped defaults: time to a solved agent (`benchmarks/defaults.py`)", "",
        f"Machine: {benchlib.machine()}. Wall time {wall / 60:.1f} min. Each row: {args.seeds} fresh seeds "
        f"({FIRST_SEED}+; the studies tuned on 0-42), one run at a time, `gymsuite train --preset P --target-return "
        f"auto --eval-freq {args.eval_every}` (5 evaluation episodes, 10 more when they reach the threshold: the run "
        "stops when all 15 do), at most the preset's own budget. Steps and seconds to that evaluation, over the "
        "seeds that reached it: interquartile mean [95% bootstrap interval]; seconds are training wall time with its "
        "evaluations. *Return after*: the stopped model's final evaluation, 10 other episodes.", "",
        benchlib.table(["task", "preset", "budget (steps)", "seeds reaching", "env steps to it", "seconds to it",
                        "return after"],
                       rows), "", *verdicts])


Runner = benchlib.Runner


def main(argv: list[str] | None = None, run: Runner = run_all) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, help=f"fresh seeds per preset (default {FULL['seeds']}; --quick 2)")
    p.add_argument("--eval-every", type=int, help=f"env steps between evaluations (default {FULL['eval_every']})")
    p.add_argument("--budget", type=int, help="env steps per run (default: each preset's own; --quick 4,096)")
    benchlib.add_run_options(p)
    args = p.parse_args(argv)
    benchlib.fill_budget(args, FULL, QUICK)
    return benchlib.run_benchmark("defaults", args, lambda tmp: jobs_for(args.seeds, args.eval_every, args.budget, tmp),
                                  run, lambda results, seconds, _: markdown(results, args, seconds),
                                  workers=1)  # one at a time: timing


if __name__ == "__main__":
    main()
    sys.exit(0)
