#!/usr/bin/env python
"""Benchmark the shipped defaults' time to a solved agent: ``--preset gymsuite`` against ``--preset zoo``.

For every task and algorithm with a gymsuite entry (``agents/hyperparams/gymsuite/<algo>.yml``), both presets train
through ``gymsuite train``'s pipeline with ``--target-return auto`` (the env's threshold:
:mod:`gymsuite.envs.thresholds`) on fresh seeds (1000 and up; the studies' seeds: :data:`TUNED_ON`), each for at
most its own budget (``n_timesteps``), evaluated every ``--eval-every`` env steps (5 episodes, and 10 more when they
reach the threshold: the run stops when all 15 do; the same interval for both, so neither is favoured by a finer
grid; 2,048 steps, or the task's own in :data:`TASK_EVAL_EVERY`).
The runs go one at a time, the two presets alternating seed by seed, so both see the same machine. Per preset: the
share of seeds that reached the threshold, and over those seeds the env steps and training seconds (wall time,
evaluations included) to it: interquartile mean [95% bootstrap interval], and the return of the model it stopped
with on the final evaluation's 10 other episodes (does the solved agent stay solved?).

Target (issue 28): at least 2x less wall time to the threshold than the zoo's defaults, with at least as many
seeds reaching it.

Each task's rows are a subsection of their own (``defaults-<algo>-<env>``), so ``--tasks`` reruns some of them in
place, each then saying under its heading when and how it was measured.

    python -m benchmarks.defaults            # full run, 10 seeds per preset (about 190 min on 2 cores for 12 entries)
    python -m benchmarks.defaults --tasks ppo:LunarLander-v3   # those tasks' subsections only
    python -m benchmarks.defaults --quick    # 2 seeds, a small budget; writes nothing
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import benchlib
from gymsuite.agents.run.config import tuned_entries
from gymsuite.common.stats import iqm, iqm_ci
from gymsuite.envs.thresholds import threshold

PRESETS = ("zoo", "gymsuite")
FULL = {"seeds": 10, "eval_every": None, "budget": None}
QUICK = {"seeds": 2, "eval_every": 1024, "budget": 4096}
# Fresh: the studies tuned on seeds 0-2, 10-14, 20-22, 40-42, 50-51, 70-72, 80-82, 90-92, 100-102, 110-114, 130-136,
# 140-147 or 150-159, and screened their best on others (60-61, 2000 and up), never on 1000-1999. TUNED_ON is their
# span, as the section says.
FIRST_SEED = 1000
TUNED_ON = "0-159"
TARGET_SPEEDUP = 2.0
EVAL_EVERY = 2048
# Tasks evaluated more sparsely: a LunarLander evaluation plays 5 episodes of up to 1,000 steps on one env, and the
# zoo's run takes about 500k steps, so every 2,048 steps would be some 250 evaluations, most of its wall time.
TASK_EVAL_EVERY = {"LunarLander-v3": 16384}


def task_name(algo: str, env: str) -> str:
    """A task as ``--tasks`` names it: ``ppo:LunarLander-v3``."""
    return f"{algo}:{env}"


def section_name(algo: str, env: str) -> str:
    """The task's subsection of BENCHMARKS.md: ``defaults-ppo-LunarLander-v3``."""
    return f"defaults-{algo}-{env.replace('/', '-')}"


def tasks(names: list[str] | None) -> list[tuple[str, str]]:
    """The ``(algo, env)`` tasks to run: those ``names`` (``algo:env``), or every gymsuite entry.

    Raises:
        ValueError: a name that is no gymsuite entry (the message lists them).
    """
    entries = tuned_entries()
    if names is None:
        return entries
    known = {task_name(*e): e for e in entries}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"no gymsuite entry {', '.join(unknown)}; the entries: {', '.join(known)}")
    return [known[n] for n in dict.fromkeys(names)]


def eval_every(env: str, given: int | None) -> int:
    """Env steps between a task's evaluations: ``--eval-every``, else the task's own, else 2,048."""
    return given if given is not None else TASK_EVAL_EVERY.get(env, EVAL_EVERY)


def jobs_for(seeds: int, every: int | None, budget: int | None, workdir: Path,
             only: list[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    """One job per task, seed and preset, the presets alternating seed by seed (every gymsuite entry, or ``only``)."""
    return [{"algo": algo, "env": env, "seed": FIRST_SEED + s, "preset": preset, "eval_every": eval_every(env, every),
             "budget": budget, "workdir": str(workdir)}
            for algo, env in (tuned_entries() if only is None else only) for s in range(seeds) for preset in PRESETS]


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


def task_section(algo: str, env: str, results: list[dict[str, Any]]) -> str:
    """One task's subsection: its heading, the two presets' rows and the verdict."""
    per = {p: [r for r in results if (r["algo"], r["env"], r["preset"]) == (algo, env, p)] for p in PRESETS}
    reached = {p: [r for r in per[p] if r["reached"]] for p in PRESETS}
    rows = []
    for preset in PRESETS:
        runs = per[preset]
        shaped = " (+ its reward shaping)" if runs[0].get("shaped") else ""  # an entry's (MountainCar DQN)
        rows.append([preset + shaped, f"{runs[0]['budget_steps']:,}", f"{len(reached[preset])}/{len(runs)}",
                     summary([float(r["steps"]) for r in reached[preset]], 0),
                     summary([float(r["seconds"]) for r in reached[preset]], 2),
                     summary([float(r["final_return"]) for r in reached[preset]], 1)])
    if reached["zoo"] and reached["gymsuite"]:
        speedup = iqm([r["seconds"] for r in reached["zoo"]]) / iqm([r["seconds"] for r in reached["gymsuite"]])
        met = speedup >= TARGET_SPEEDUP and len(reached["gymsuite"]) >= len(reached["zoo"])
        verdict = (f"The gymsuite preset reaches {threshold(env):g} in {speedup:.1f}x less wall time than the zoo's "
                   f"(IQM over the seeds that reached it), {len(reached['gymsuite'])} against {len(reached['zoo'])} "
                   f"seeds: target (>= {TARGET_SPEEDUP:g}x, at least as many seeds) {'met' if met else 'not met'}.")
    elif reached["gymsuite"]:  # the zoo's defaults never got there within their own budget: no time to halve
        verdict = (f"The zoo's preset reached {threshold(env):g} in no seed within its budget "
                   f"({per['zoo'][0]['budget_steps']:,} steps), the gymsuite preset in {len(reached['gymsuite'])} of "
                   f"{len(per['gymsuite'])}: target (>= {TARGET_SPEEDUP:g}x, at least as many seeds) met.")
    else:
        verdict = "The gymsuite preset reached the threshold in no seed: target not met."
    return "\n".join([f"### {algo} on {env}", "",
                      benchlib.table(["preset", "budget (steps)", "seeds reaching", "env steps to it",
                                      "seconds to it", "return after"], rows), "", verdict])


def method(seeds: int) -> str:
    """How every row is measured (the whole section's paragraph)."""
    sparse = "; ".join(f"{steps:,} on {env}" for env, steps in TASK_EVAL_EVERY.items())
    return (f"Each row: {seeds} fresh seeds ({FIRST_SEED}+; the studies tuned on {TUNED_ON}), one run at a time, "
            f"`gymsuite train --preset P --target-return auto --eval-freq E` (E = {EVAL_EVERY:,} env steps; {sparse}: "
            "the same for both presets), 5 evaluation episodes and 10 more when they reach the threshold (the run "
            "stops when all 15 do), at most the preset's own budget. Steps and seconds to that evaluation, over the "
            "seeds that reached it: interquartile mean [95% bootstrap interval]; seconds are training wall time with "
            "its evaluations. *Return after*: the stopped model's final evaluation, 10 other episodes.")


def publish(results: list[dict[str, Any]], args: argparse.Namespace, wall: float) -> str:
    """Print the tasks' subsections and, unless --quick or --no-write, put them in ``args.benchmarks``: after a run of
    every task the whole section, else each task's subsection in place of its earlier one (or at the end of the
    section), saying under its heading when and how it was measured. Returns what was printed."""
    run = f"Machine: {benchlib.machine()}. Wall time {wall / 60:.1f} min."
    parts = {section_name(a, e): task_section(a, e, results)
             for a, e in dict.fromkeys((r["algo"], r["env"]) for r in results)}
    if args.tasks is None:
        text = "\n\n".join(["## Shipped defaults: time to a solved agent (`benchmarks/defaults.py`)", "",
                             f"{run} {method(args.seeds)}",
                             *(benchlib.marked(name, md) for name, md in parts.items())])
        benchlib.publish("defaults", text, args.benchmarks, benchlib.writes(args))
        return text
    note = f"{run} (`--tasks {' '.join(args.tasks)}`) {method(args.seeds)}"
    return benchlib.publish_alone("defaults", parts, lambda _: note, args.benchmarks, benchlib.writes(args))


Runner = benchlib.Runner


def main(argv: list[str] | None = None, run: Runner = run_all) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, help=f"fresh seeds per preset (default {FULL['seeds']}; --quick 2)")
    p.add_argument("--eval-every", type=int,
                   help=f"env steps between evaluations (default {EVAL_EVERY:,}, or the task's own; --quick 1,024)")
    p.add_argument("--budget", type=int, help="env steps per run (default: each preset's own; --quick 4,096)")
    p.add_argument("--tasks", nargs="+", metavar="ALGO:ENV",
                   help="run only these gymsuite entries (e.g. ppo:LunarLander-v3), replacing their subsections")
    benchlib.add_run_options(p)
    args = p.parse_args(argv)
    benchlib.fill_budget(args, FULL, QUICK)
    try:
        only = tasks(args.tasks)
    except ValueError as e:
        p.error(str(e))  # exit 2
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gymsuite-bench-defaults-") as tmp:
        results = run(jobs_for(args.seeds, args.eval_every, args.budget, Path(tmp), only), 1)  # one at a time: timing
    return publish(results, args, time.perf_counter() - start)


if __name__ == "__main__":
    main()
    sys.exit(0)
