#!/usr/bin/env python
"""Benchmark continual: forgetting and transfer on a sequence of three CartPole tasks, per method.

The sequence: ``CartPole-v1`` (as registered), then its observation reversed (``permute=3,2,1,0``), then every
sign flipped (``signflip=true``): the same physics seen three ways, so one network can solve all three, and
fine-tuning on a later task overwrites what the input layer learned for the earlier ones. Every task's observation
ends with its one-hot id (``taskid``, Continual World's default): without it the sign-flipped task contradicts the
first. Each method runs through ``gymsuite continual`` (:func:`gymsuite.api.continual`) with PPO's shipped CartPole
defaults and the same env steps per task: ``finetune``, ``ewc``, ``replay`` (ClonEx-style behaviour cloning of the
old policies), ``packnet`` (the weights shared out, pruned and frozen per task), ``progressive`` (a new column
per task), ``multitask`` (every task at once, the same total budget: the upper bound) and ``single`` (a fresh agent
per task: the reference). Cells: the interquartile mean over seeds with a 95% bootstrap interval
(``gymsuite.common.stats``) of average performance (mean return on the three tasks at the end; normalised: Continual
World's 0..1 scale between a random agent and the task's reward threshold, 475), forgetting (Continual World's, on
that scale) and the course's backward and forward transfer (returns).

Target (issue 26): EWC or replay reaches at least 0.9 of the single-task average performance with forgetting at
most 0.1, against fine-tuning's forgetting in the same run. Continual World's CW20 figures (Wolczyk et al. 2021,
SAC on Meta-World, success rates) beside them: fine-tuning 0.05 / forgetting 0.73, EWC 0.60 / 0.02, PackNet 0.80,
ClonEx-SAC 0.87 (Wolczyk et al. 2022).

    python -m benchmarks.continual          # full: 5 seeds x 7 methods x 3 tasks x 50,000 steps, ~50 min, 2 cores
    python -m benchmarks.continual --quick  # 1 seed, 2,048 steps per task, 2 evaluation episodes; writes nothing
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import benchlib
from gymsuite.common.stats import iqm, summary

TASKS = "CartPole-v1; CartPole-v1 permute=3,2,1,0; CartPole-v1 signflip=true"
METHODS = ("finetune", "ewc", "replay", "packnet", "progressive", "multitask", "single")
TARGET_SHARE, TARGET_FORGETTING = 0.9, 0.1
CONTINUAL_WORLD = {"finetune": "0.05 / 0.73", "ewc": "0.60 / 0.02", "replay": "0.87 (ClonEx-SAC)",
                   "packnet": "0.80", "progressive": "", "multitask": "", "single": ""}
FULL = {"seeds": 5, "steps": 50_000, "episodes": 10}
QUICK = {"seeds": 1, "steps": 2_048, "episodes": 2}
EXPECTED_FPS = 1200  # env steps/s of one of 2 workers on 2 cores (CartPole PPO, 8 envs, penalties included)
EVAL_SECONDS = 4  # one evaluation row (3 tasks x 10 episodes) and a memory


def run_one(job: dict[str, Any]) -> dict[str, Any]:
    """One (method, seed) sequence in a scratch directory; its ``results.json`` keys, printed as a JSON line."""
    import gymsuite

    start = time.perf_counter()
    results = gymsuite.continual(TASKS, job["method"], job["steps"], job["run_dir"], seed=job["seed"],
                                 eval_episodes=job["episodes"])
    shutil.rmtree(job["run_dir"], ignore_errors=True)
    keep = ("matrix", "average_performance", "average_performance_normalized", "forgetting", "backward_transfer",
            "forward_transfer")
    return benchlib.job_result(job, {k: results[k] for k in keep}, start)


def run_all(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    return benchlib.run_jobs(run_one, jobs, workers)


def jobs_for(seeds: int, steps: int, episodes: int, workdir: Path) -> list[dict[str, Any]]:
    """One job per method and seed (``steps``: per task; multitask trains three times that at once)."""
    return [{"method": m, "seed": s, "steps": steps, "episodes": episodes, "run_dir": str(workdir / f"{m}-s{s}")}
            for m in METHODS for s in range(seeds)]


def estimate_minutes(jobs: list[dict[str, Any]], workers: int) -> float:
    seconds = sum(3 * j["steps"] / EXPECTED_FPS + 4 * EVAL_SECONDS * j["episodes"] / 10 + 5 for j in jobs)
    return seconds / max(workers, 1) / 60


def _values(results: list[dict[str, Any]], method: str, key: str) -> list[float]:
    return [float(r[key]) for r in results if r["method"] == method and r.get(key) is not None]


def targets(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Each of EWC's and replay's average performance as a share of single-task's (normalised IQMs), its forgetting
    (IQM), and fine-tuning's forgetting."""
    single = iqm(_values(results, "single", "average_performance_normalized"))
    out: dict[str, Any] = {"single": single, "finetune_forgetting": iqm(_values(results, "finetune", "forgetting"))}
    for method in ("ewc", "replay"):
        perf = iqm(_values(results, method, "average_performance_normalized"))
        out[method] = {"share": perf / single if single > 0 else float("nan"),
                       "forgetting": iqm(_values(results, method, "forgetting"))}
    out["met"] = any(out[m]["share"] >= TARGET_SHARE and out[m]["forgetting"] <= TARGET_FORGETTING
                     for m in ("ewc", "replay"))
    return out


DIGITS = {"average_performance": 0, "backward_transfer": 0, "forward_transfer": 0}  # returns; others 0..1


def _cell(results: list[dict[str, Any]], method: str, key: str) -> str:
    values = _values(results, method, key)
    return summary(values, DIGITS.get(key, 2)) if values else "-"


def markdown(results: list[dict[str, Any]], args: argparse.Namespace, wall: float, workers: int) -> str:
    header = ["method", "average return", "average (normalised)", "forgetting", "backward transfer",
              "forward transfer", "Continual World CW20 (avg / forgetting)"]
    rows = [[m, *(_cell(results, m, k) for k in ("average_performance", "average_performance_normalized",
                                                  "forgetting", "backward_transfer", "forward_transfer")),
             CONTINUAL_WORLD[m]] for m in METHODS]
    t = targets(results)
    verdict = (f"Target (EWC or replay >= {TARGET_SHARE:.0%} of single-task average with forgetting <= "
               f"{TARGET_FORGETTING}): {'met' if t['met'] else 'not met'}. EWC {t['ewc']['share']:.0%} of single-task, "
               f"forgetting {t['ewc']['forgetting']:.2f}; replay {t['replay']['share']:.0%}, forgetting "
               f"{t['replay']['forgetting']:.2f}; fine-tuning's forgetting {t['finetune_forgetting']:.2f}.")
    text = [f"## Continual learning (`benchmarks/continual.py`)\n\nMachine: {benchlib.machine()}. Wall time "
            f"{wall / 60:.1f} min with {workers} worker processes. `gymsuite continual --tasks \"{TASKS}\"` with PPO "
            f"(shipped CartPole defaults), {args.steps:,} env steps per task (multitask: {3 * args.steps:,} at once), "
            f"{args.seeds} seeds per method, {args.episodes} greedy episodes per task per evaluation. Cells: "
            "interquartile mean over seeds [95% bootstrap interval]; normalised 0..1 between a random agent and "
            "the reward threshold (475), as Continual World's success rates; forgetting on that scale; transfers "
            "in return (the course's BWT and FWT; single-task and multitask have none).", "",
            benchlib.table(header, rows), "", verdict]
    return "\n".join(text)


Runner = Callable[[list[dict[str, Any]], int], list[dict[str, Any]]]


def main(argv: list[str] | None = None, run: Runner = run_all) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, help=f"seeds per method (default {FULL['seeds']}; --quick 1)")
    p.add_argument("--steps", type=int, help=f"env steps per task (default {FULL['steps']:,}; --quick 2,048)")
    p.add_argument("--episodes", type=int, help=f"episodes per task per evaluation (default {FULL['episodes']}; "
                   "--quick 2)")
    benchlib.add_run_options(p)
    args = p.parse_args(argv)
    benchlib.fill_budget(args, FULL, QUICK)
    write = not (args.no_write or args.quick)  # quick numbers never reach BENCHMARKS.md
    workers = min(args.workers, 2)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gymsuite-bench-continual-") as tmp:
        jobs = jobs_for(args.seeds, args.steps, args.episodes, Path(tmp))
        print(f"estimated wall time: about {estimate_minutes(jobs, workers):.0f} min", flush=True)
        results = run(jobs, workers)
    text = markdown(results, args, time.perf_counter() - start, workers)
    benchlib.publish("continual", text, args.benchmarks, write)
    return text


if __name__ == "__main__":
    main()
    sys.exit(0)
