#!/usr/bin/env python
"""Benchmark continual: forgetting and transfer on a sequence of three CartPole tasks and one of three MiniGrid
layouts, per method.

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

The MiniGrid sequence (the second part, ``--part minigrid``): MINIGRID_TASKS, three layouts with the same
observation (the agent's 7x7 view, ``small_cnn``) and actions, so one network meets all three; no task id (an image
gets none). PPO with MINIGRID_HYPER (rl-baselines3-zoo's MiniGrid settings: 8 envs x 128 steps; gymsuite ships no
MiniGrid entry, and PPO's generic defaults, 8 x 2048 steps with 10 epochs of 64-sample batches, do not learn
these layouts in 50,000 steps; with these, a single agent reaches 0.94-0.95 on each in 60,000 steps, one seed),
MINIGRID_METHODS (progressive networks left out for the budget), and MiniGrid's rewards (1 - 0.9 x steps / max
steps on reaching the goal, else 0), normalised between a random agent and the best return in each column (MiniGrid
registers no reward threshold). The empty rooms and the lava gap ask for different behaviour (a LavaGap agent
scores 0 in the 8x8 room and the 8x8 room's agent 0 on the lava gap); the lava gap comes first, so that fine-tuning
has it to forget (one seed: 0.94 after it, 0.38 after the two rooms; in the other order the rooms' policy is not
forgotten, but the lava gap is then barely learned in its 60,000 steps).

    python -m benchmarks.continual          # full: both parts, 5 seeds, about 35 min on 2 cores
    python -m benchmarks.continual --part minigrid   # the MiniGrid part only, ~28 min
    python -m benchmarks.continual --quick  # 1 seed, 2,048 steps per task, 2 evaluation episodes; writes nothing
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

TASKS = "CartPole-v1; CartPole-v1 permute=3,2,1,0; CartPole-v1 signflip=true"
METHODS = ("finetune", "ewc", "replay", "packnet", "progressive", "multitask", "single")
TARGET_SHARE, TARGET_FORGETTING = 0.9, 0.1
CONTINUAL_WORLD = {"finetune": "0.05 / 0.73", "ewc": "0.60 / 0.02", "replay": "0.87 (ClonEx-SAC)",
                   "packnet": "0.80", "progressive": "", "multitask": "", "single": ""}
FULL = {"seeds": 5, "steps": 50_000, "episodes": 10, "minigrid_steps": 60_000}
QUICK = {"seeds": 1, "steps": 2_048, "episodes": 2, "minigrid_steps": 2_048}
EXPECTED_FPS = 6000  # env steps/s of one of 2 workers on 2 cores (CartPole PPO, penalties, evaluations: 8,000 measured)
EVAL_SECONDS = 4  # one evaluation row (3 tasks x 10 episodes) and a memory
MINIGRID_TASKS = "MiniGrid-LavaGapS5-v0; MiniGrid-Empty-Random-6x6-v0; MiniGrid-Empty-Random-6x6-v0 size=8"
MINIGRID_METHODS = ("finetune", "ewc", "replay", "packnet", "multitask", "single")
MINIGRID_HYPER = {"n_envs": 8, "n_steps": 128, "batch_size": 256, "n_epochs": 4, "learning_rate": 2.5e-4,
                  "ent_coef": 0.01, "gae_lambda": 0.95}
MINIGRID_FPS = 1600  # env steps/s of one of 2 workers (small_cnn on the 7x7 view, the settings above; 1,650 measured)
PARTS: dict[str, dict[str, Any]] = {
    "cartpole": {"tasks": TASKS, "methods": METHODS, "hyper": {}, "fps": EXPECTED_FPS},
    "minigrid": {"tasks": MINIGRID_TASKS, "methods": MINIGRID_METHODS, "hyper": MINIGRID_HYPER, "fps": MINIGRID_FPS},
}


def run_one(job: dict[str, Any]) -> dict[str, Any]:
    """One (method, seed) sequence in a scratch directory; its ``results.json`` keys, printed as a JSON line."""
    import gymsuite

    start = time.perf_counter()
    part = PARTS[job.get("part", "cartpole")]
    with benchlib.quiet():  # progress bars of parallel workers
        results = gymsuite.continual(part["tasks"], job["method"], job["steps"], job["run_dir"], seed=job["seed"],
                                     eval_episodes=job["episodes"], hyperparams=part["hyper"])
    shutil.rmtree(job["run_dir"], ignore_errors=True)
    keep = ("matrix", "average_performance", "average_performance_normalized", "forgetting", "backward_transfer",
            "forward_transfer")
    return benchlib.job_result(job, {k: results[k] for k in keep}, start)


def run_all(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    return benchlib.run_jobs(run_one, jobs, workers)


def jobs_for(seeds: int, steps: int, episodes: int, workdir: Path, part: str = "cartpole") -> list[dict[str, Any]]:
    """One job per method of ``part`` and seed (``steps``: per task; multitask trains three times that at once)."""
    return [{"part": part, "method": m, "seed": s, "steps": steps, "episodes": episodes,
             "run_dir": str(workdir / f"{part}-{m}-s{s}")} for m in PARTS[part]["methods"] for s in range(seeds)]


def estimate_minutes(jobs: list[dict[str, Any]], workers: int) -> float:
    seconds = sum(3 * j["steps"] / PARTS[j.get("part", "cartpole")]["fps"] + 4 * EVAL_SECONDS * j["episodes"] / 10
                  + 5 for j in jobs)
    return seconds / max(workers, 1) / 60


def _values(results: list[dict[str, Any]], method: str, key: str) -> list[float]:
    return [float(r[key]) for r in results if r["method"] == method and r.get(key) is not None]


def targets(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Each of EWC's and replay's average return as a share of single-task's (IQMs), its forgetting (IQM), and
    fine-tuning's forgetting (``results``: one part's).

    The share is of returns, not of the normalised column: without a registered threshold (MiniGrid) a run
    normalises by its own best return in each column, so multitask and single-task score 1 by construction there.
    """
    single = iqm(_values(results, "single", "average_performance"))
    out: dict[str, Any] = {"single": single, "finetune_forgetting": iqm(_values(results, "finetune", "forgetting"))}
    for method in ("ewc", "replay"):
        perf = iqm(_values(results, method, "average_performance"))
        out[method] = {"share": perf / single if single > 0 else float("nan"),
                       "forgetting": iqm(_values(results, method, "forgetting"))}
    out["met"] = any(out[m]["share"] >= TARGET_SHARE and out[m]["forgetting"] <= TARGET_FORGETTING
                     for m in ("ewc", "replay"))
    return out


RETURNS = ("average_performance", "backward_transfer", "forward_transfer")  # in the env's return; others 0..1


def _cell(results: list[dict[str, Any]], method: str, key: str, return_digits: int) -> str:
    values = _values(results, method, key)
    return summary(values, return_digits if key in RETURNS else 2) if values else "-"


def _part_table(results: list[dict[str, Any]], methods: tuple[str, ...], return_digits: int) -> list[str]:
    """One sequence's table; ``return_digits``: decimals of the returns (CartPole's hundreds: 0; MiniGrid's 0..1: 2)."""
    header = ["method", "average return", "average (normalised)", "forgetting", "backward transfer",
              "forward transfer", "Continual World CW20 (avg / forgetting)"]
    rows = [[m, *(_cell(results, m, k, return_digits) for k in ("average_performance",
                                                                 "average_performance_normalized", "forgetting",
                                                                 "backward_transfer", "forward_transfer")),
             CONTINUAL_WORLD[m]] for m in methods]
    t = targets(results)
    verdict = (f"Target (EWC or replay >= {TARGET_SHARE:.0%} of single-task average with forgetting <= "
               f"{TARGET_FORGETTING}): {'met' if t['met'] else 'not met'}. EWC {t['ewc']['share']:.1%} of "
               f"single-task's average return, forgetting {t['ewc']['forgetting']:.2f}; replay "
               f"{t['replay']['share']:.1%}, forgetting {t['replay']['forgetting']:.2f}; fine-tuning's forgetting "
               f"{t['finetune_forgetting']:.2f}.")
    return [benchlib.table(header, rows), "", verdict]


def markdown(results: list[dict[str, Any]], args: argparse.Namespace, wall: float, workers: int) -> str:
    text = [f"## Continual learning (`benchmarks/continual.py`)\n\nMachine: {benchlib.machine()}. Wall time "
            f"{wall / 60:.1f} min with {workers} worker processes. {args.seeds} seeds per method, {args.episodes} "
            "greedy episodes per task per evaluation. Cells: interquartile mean over seeds [95% bootstrap interval]; "
            "normalised 0..1 between a random agent and the task's top score, as Continual World's success rates; "
            "forgetting on that scale; transfers in return (the course's BWT and FWT; single-task and multitask have "
            "none)."]
    cartpole = [r for r in results if r.get("part", "cartpole") == "cartpole"]
    minigrid = [r for r in results if r.get("part") == "minigrid"]
    if cartpole:
        text += ["", f"### CartPole: `gymsuite continual --tasks \"{TASKS}\"`", "",
                 f"PPO (shipped CartPole defaults), {args.steps:,} env steps per task (multitask: {3 * args.steps:,} "
                 "at once); the top score is the reward threshold (475).", "", *_part_table(cartpole, METHODS, 0)]
    if minigrid:
        hyper = " ".join(f"{k}={v}" for k, v in MINIGRID_HYPER.items())
        text += ["", f"### MiniGrid: `gymsuite continual --tasks \"{MINIGRID_TASKS}\"`", "",
                 f"PPO with `--hyperparams {hyper}` (small_cnn on the 7x7 view; no task id), "
                 f"{args.minigrid_steps:,} env steps per task (multitask: {3 * args.minigrid_steps:,} at once); the "
                 "top score is the run's own best return in each column (MiniGrid registers no threshold), so "
                 "multitask and single-task score 1 there by construction: compare the average return.", "",
                 *_part_table(minigrid, MINIGRID_METHODS, 2)]
    return "\n".join(text)


Runner = benchlib.Runner


def main(argv: list[str] | None = None, run: Runner = run_all) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, help=f"seeds per method (default {FULL['seeds']}; --quick 1)")
    p.add_argument("--steps", type=int, help=f"env steps per task (default {FULL['steps']:,}; --quick 2,048)")
    p.add_argument("--episodes", type=int, help=f"episodes per task per evaluation (default {FULL['episodes']}; "
                   "--quick 2)")
    p.add_argument("--minigrid-steps", type=int, help=f"env steps per MiniGrid task (default "
                   f"{FULL['minigrid_steps']:,}; --quick 2,048)")
    p.add_argument("--part", choices=("all", *PARTS), default="all", help="which sequence (default: both)")
    benchlib.add_run_options(p)
    args = p.parse_args(argv)
    benchlib.fill_budget(args, FULL, QUICK)
    parts = list(PARTS) if args.part == "all" else [args.part]

    def jobs(tmp: Path) -> list[dict[str, Any]]:
        return [j for part in parts for j in jobs_for(args.seeds, args.minigrid_steps if part == "minigrid"
                                                      else args.steps, args.episodes, tmp, part)]

    return benchlib.run_benchmark("continual", args, jobs, run,
                                  lambda results, seconds, workers: markdown(results, args, seconds, workers),
                                  estimate_minutes)


if __name__ == "__main__":
    main()
    sys.exit(0)
