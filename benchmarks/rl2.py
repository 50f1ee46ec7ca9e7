#!/usr/bin/env python
"""Benchmark rl2: RL² against UCB1, Thompson sampling and random arms on two-armed Bernoulli bandits.

After Duan et al. (2016), section 4.1, on two arms (Wang et al. 2016's independent bandits): a task is
``gymsuite/TwoArmedBandit-v0 p0=0:1 p1=0:1 pulls=N`` (each arm's probability drawn uniformly), a trial one episode
of N pulls (``--trials 1``). Each seed runs ``gymsuite meta --method rl2`` (:func:`gymsuite.api.meta`: RecurrentPPO
meta-trained on trials of the family, then evaluated, sampling its actions, on ``test_tasks`` held-out draws of the
same distribution, ``episodes`` trials each); the references play the same held-out tasks (the draws results.json
lists) by simulation (:mod:`gymsuite.envs.custom.bandit`): UCB1, Thompson sampling with Beta(1, 1) priors, the
Bayes-optimal policy for the uniform prior (dynamic programming: no strategy earns more on average over the
family; the finite-horizon optimum the Gittins index approximates), a random arm each pull, and the best arm each
pull (the oracle's ceiling, out of reach of any strategy that must find the arm). Cells: mean reward per trial and
regret (n max_i p_i, the oracle's expected reward, minus it), the interquartile mean over seeds x held-out tasks
with a 95% bootstrap interval (``gymsuite.common.stats``).

Target (issue 26): RL² within 10% of the UCB reference (Duan et al. report RL² close to Gittins at n = 10 and 100).

    python -m benchmarks.rl2          # full: 5 seeds x n = 10 (100k steps) and 100 (300k steps), ~35 min, 2 cores
    python -m benchmarks.rl2 --quick  # 1 seed, n = 10 and 100, 2,048 steps, 4 tasks x 4 trials; writes nothing
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
from gymsuite.common.stats import iqm, summary

PULLS = (10, 100)
REFERENCES = ("ucb1", "thompson", "bayes", "random", "oracle")
TARGET = 0.9  # RL²'s IQM over UCB1's
# RL²'s PPO per episode length (gymsuite.agents.meta.plan.RL2_DEFAULTS, then these)
# (gamma 0.9: a pull's exploration pays within ~10 pulls; RL2_DEFAULTS has 8 epochs per rollout)
HYPER: dict[int, dict[str, Any]] = {n: {"gamma": 0.9} for n in PULLS}
FULL = {"seeds": 5, "timesteps": 300_000, "short_timesteps": 100_000, "test_tasks": 50, "episodes": 10}
QUICK = {"seeds": 1, "timesteps": 2_048, "short_timesteps": 2_048, "test_tasks": 4, "episodes": 4}
EXPECTED_FPS = 600  # RecurrentPPO env steps/s of one of 2 workers on 2 cores (bandits, 8 epochs)
EVAL_SECONDS = 0.02  # per 100 pulls of evaluation


def family(pulls: int) -> str:
    """The task family (and held-out distribution) of ``pulls``-pull bandits."""
    return f"gymsuite/TwoArmedBandit-v0 p0=0:1 p1=0:1 pulls={pulls}"


def probabilities(tasks: list[str]) -> np.ndarray:
    """The arm probabilities ``(B, 2)`` of held-out task specs (``... p0=0.31 p1=0.7 ...``)."""
    from gymsuite.envs.tasks import parse_task

    return np.array([[float(dict(parse_task(t).modifiers)[f"p{i}"]) for i in (0, 1)] for t in tasks])


def run_one(job: dict[str, Any]) -> dict[str, Any]:
    """One seed and episode length: RL²'s mean trial return on each held-out task, and the tasks."""
    import gymsuite

    start = time.perf_counter()
    with benchlib.quiet():  # progress bars of parallel workers
        results = gymsuite.meta(family(job["pulls"]), family(job["pulls"]), "rl2", job["timesteps"], None,
                                job["run_dir"], seed=job["seed"], trials=1, test_tasks=job["test_tasks"],
                                eval_episodes=job["episodes"], hyperparams=HYPER[job["pulls"]])
    shutil.rmtree(job["run_dir"], ignore_errors=True)
    return benchlib.job_result(job, {"rl2": results["methods"]["rl2"]["trial"], "test": results["test"]}, start)


def run_all(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    return benchlib.run_jobs(run_one, jobs, workers)


def jobs_for(args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    jobs = []
    for n in PULLS:
        steps = args.short_timesteps if n == min(PULLS) else args.timesteps
        jobs += [{"seed": s, "pulls": n, "timesteps": steps, "steps": steps, "test_tasks": args.test_tasks,
                  "episodes": args.episodes, "run_dir": str(workdir / f"n{n}_s{s}")} for s in range(args.seeds)]
    return jobs


def estimate_minutes(jobs: list[dict[str, Any]], workers: int) -> float:
    seconds = sum(j["timesteps"] / EXPECTED_FPS + EVAL_SECONDS * j["test_tasks"] * j["episodes"] * j["pulls"] / 100
                  + 10 for j in jobs)
    return seconds / max(workers, 1) / 60


def references(result: dict[str, Any], episodes: int) -> dict[str, list[float]]:
    """Each reference's mean trial return on the held-out tasks of one job (the same draws RL² was evaluated on)."""
    probs = probabilities(result["test"])
    from gymsuite.envs.custom.bandit import reference_returns

    out = {name: [float(v) for v in reference_returns(name, probs, result["pulls"], episodes, result["seed"] + 1)
                  .mean(axis=1)] for name in REFERENCES}
    return {**out, "best": [float(v) for v in result["pulls"] * probs.max(axis=1)]}  # the oracle's expectation


def pooled(results: list[dict[str, Any]], pulls: int, method: str) -> list[float]:
    return [v for r in results if r["pulls"] == pulls for v in r[method]]


def markdown(results: list[dict[str, Any]], args: argparse.Namespace, wall: float, workers: int) -> str:
    rows, verdicts = [], []
    for n in PULLS:
        cells = {m: pooled(results, n, m) for m in ("rl2", *REFERENCES)}
        ucb, digits = iqm(cells["ucb1"]), 2 if n < 100 else 1
        for m in ("rl2", *REFERENCES):
            regret = [b - x for b, x in zip(pooled(results, n, "best"), cells[m], strict=True)]  # same tasks, order
            rows.append([f"n = {n}", "RL²" if m == "rl2" else m, summary(cells[m], digits),
                         summary(regret, digits), f"{iqm(cells[m]) / ucb:.2f}" if ucb > 0 else "-"])
        ratio = iqm(cells["rl2"]) / ucb if ucb > 0 else float("nan")
        floor = iqm(cells["random"]) / ucb if ucb > 0 else float("nan")
        verdicts.append(f"n = {n}: {'met' if ratio >= TARGET else 'not met'} (RL² {iqm(cells['rl2']):.2f}, UCB1 "
                        f"{ucb:.2f}, x{ratio:.2f}; random arms x{floor:.2f})")
    steps = {n: args.short_timesteps if n == min(PULLS) else args.timesteps for n in PULLS}
    text = [f"## Meta-learning: RL² on two-armed bandits (`benchmarks/rl2.py`)\n\nMachine: {benchlib.machine()}. "
            f"Wall time {wall / 60:.1f} min with {workers} worker processes. `gymsuite meta --family "
            f"\"{family(100)}\" --test (the same) --method rl2 --trials 1` (RecurrentPPO, "
            + ", ".join(f"{steps[n]:,} env steps for n = {n}" for n in PULLS)
            + f"), {args.seeds} seeds, {args.test_tasks} held-out draws per seed, {args.episodes} trials each "
            "(RL² samples its actions); the references play the same draws by simulation. Cells: mean reward per "
            "trial of n pulls and regret (n times the best arm's probability minus it), interquartile mean over "
            "seeds x held-out tasks [95% bootstrap interval]; the last column: the reward's IQM over UCB1's. Random "
            "arms alone come close to UCB1 at n = 10, so the regret is the figure to compare there.", "",
            benchlib.table(["pulls", "strategy", "reward per trial", "regret", "/ UCB1"], rows), "",
            f"Target (RL² within {1 - TARGET:.0%} of UCB1): " + "; ".join(verdicts) + "."]
    return "\n".join(text)


Runner = benchlib.Runner


def main(argv: list[str] | None = None, run: Runner = run_all) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, help=f"seeds (default {FULL['seeds']}; --quick 1)")
    p.add_argument("--timesteps", type=int, help=f"RL²'s env steps for n = 100 (default {FULL['timesteps']:,})")
    p.add_argument("--short-timesteps", type=int,
                   help=f"RL²'s env steps for n = 10 (default {FULL['short_timesteps']:,})")
    p.add_argument("--test-tasks", type=int, help=f"held-out draws per seed (default {FULL['test_tasks']})")
    p.add_argument("--episodes", type=int, help=f"trials per held-out task (default {FULL['episodes']})")
    benchlib.add_run_options(p)
    args = p.parse_args(argv)
    benchlib.fill_budget(args, FULL, QUICK)

    def section(results: list[dict[str, Any]], seconds: float, workers: int) -> str:
        for result in results:
            result.update(references(result, args.episodes))
        return markdown(results, args, seconds, workers)

    return benchlib.run_benchmark("rl2", args, lambda tmp: jobs_for(args, tmp), run, section, estimate_minutes)


if __name__ == "__main__":
    main()
    sys.exit(0)
