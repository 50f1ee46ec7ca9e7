#!/usr/bin/env python
"""Benchmark the course's policy-gradient versions against each other and against SB3's A2C.

Every version (0, 1, 2, 3, 3.5-mc, 3.5-td, 4) and SB3 ``A2C`` train on CartPole-v1 and
Acrobot-v1 with the same seeds, budget, network, ``n_steps`` and optimiser (Adam: A2C gets
``use_rms_prop=False``); the hyperparameters are ``agents/hyperparams/pg.yml``'s. Both train
through ``gymsuite train``'s pipeline (``build_config`` + ``training.train``, evaluation during
training off), so the speeds are the product's. Measured per run, on the training episodes
(the stochastic policy that collects the data):

* steps to threshold: the env step at which the mean return of the last 10 finished
  episodes first reaches the threshold (CartPole 475, Acrobot -100);
* final return: mean return of the last 10 episodes of the budget;
* env steps/s over ``learn`` (runs of version 4 and A2C with the same seed are queued
  side by side so that they share the machine alike).

Writes the ``pg`` section of BENCHMARKS.md and ``docs/benchmark_pg.png``; the raw results
go to ``bench_out/benchmark_pg.json``.

    python -m benchmarks.pg            # 5 seeds (20 for v4 and A2C), 2 workers (~12 min on 2 cores)
    python -m benchmarks.pg --quick    # every algorithm and env at a few thousand steps, 1 seed (2 for v4/A2C)
    python -m benchmarks.pg --seeds 2 --pair-seeds 0 --timesteps 20000 --no-write   # a closer look
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import benchlib

ROOT = Path(__file__).resolve().parent.parent
THRESHOLDS = {"CartPole-v1": 475.0, "Acrobot-v1": -100.0}
VERSIONS = ["0", "1", "2", "3", "3.5-mc", "3.5-td", "4"]
WINDOW = 10  # episodes in the moving average
PG_ONLY = {"version", "share_trunk", "param_noise_std"}
PAIR = ("4", "a2c")  # compared on more seeds (--pair-seeds): steps to threshold varies a lot from seed to seed
# --quick: env steps per run, enough for 10 finished episodes (Acrobot's random ones last 500 steps, in 8 envs).
QUICK_STEPS = {"CartPole-v1": 3_000, "Acrobot-v1": 8_000}


@dataclass
class Job:
    algo: str  # a course version, or "a2c"
    env: str
    seed: int
    timesteps: int


@dataclass
class Result:
    job: Job
    steps_to_threshold: int | None
    final_return: float
    fps: float
    curve: list[tuple[int, float]] = field(default_factory=list)  # (env step, moving-average return)


def hyperparams(env_id: str) -> tuple[int, dict[str, Any]]:
    """``(n_envs, constructor kwargs)`` of ``pg`` on ``env_id``: ``pg.yml`` through the config loader."""
    from gymsuite.agents.algorithms import registry
    from gymsuite.agents.run.config import build_config
    from gymsuite.agents.run.resolved import model_kwargs

    cfg = build_config({"algo": "pg", "env": env_id})
    _, kwargs = model_kwargs(registry.get("pg"), cfg)
    kwargs.pop("device", None)
    return cfg.n_envs, kwargs


def run_config(job: Job) -> Any:
    """The run config of ``job``, as ``gymsuite train`` builds it.

    A course version is ``--algo pg --hyperparams version=V`` with ``pg.yml``'s defaults; SB3's A2C
    is ``--algo a2c`` with every one of those settings given explicitly (``a2c.yml``'s own
    defaults must not leak in) plus Adam instead of RMSprop. Evaluation during training is off:
    the measurements are the training episodes'.
    """
    from gymsuite.agents.run.config import build_config

    cli = {"env": job.env, "seed": job.seed, "timesteps": job.timesteps, "eval_freq": 0, "eval_episodes": 1}
    if job.algo != "a2c":
        return benchlib.config({**cli, "algo": "pg"}, {"version": job.algo})
    pg = build_config({"algo": "pg", "env": job.env})
    shared = {k: v for k, v in pg.hyperparams.items() if k not in PG_ONLY | {"n_envs", "n_timesteps"}}
    return benchlib.config({**cli, "algo": "a2c", "n_envs": pg.n_envs},
                           {**shared, "normalize": False, "use_rms_prop": False}, exact=True)


def run(job: Job) -> Result:
    """Train one model through ``gymsuite train``'s pipeline (into a temporary run directory) and measure it."""
    log = benchlib.EpisodeCurve()
    with tempfile.TemporaryDirectory(prefix="gymsuite-bench-pg-") as tmp:
        trained = benchlib.train(run_config(job), Path(tmp) / "run", callbacks=[log])
    return measure(job, list(zip(log.steps, log.returns, strict=True)), trained.steps / trained.seconds)


def measure(job: Job, episodes: list[tuple[int, float]], fps: float) -> Result:
    """Steps to threshold, final return and the learning curve of a run's ``(env step, return)`` episodes."""
    steps = np.array([s for s, _ in episodes])
    returns = np.array([r for _, r in episodes])
    # average[i] is the mean of episodes i .. i+WINDOW-1, known at the end of episode i+WINDOW-1.
    average = np.convolve(returns, np.ones(WINDOW) / WINDOW, mode="valid") if len(returns) >= WINDOW else returns[:0]
    hits = np.flatnonzero(average >= THRESHOLDS[job.env])
    reached = int(steps[WINDOW - 1 + hits[0]]) if len(hits) else None
    keep = np.unique(np.linspace(0, len(average) - 1, min(len(average), 200)).astype(int))
    curve = [(int(steps[WINDOW - 1 + i]), float(average[i])) for i in keep]
    final = float(returns[-WINDOW:].mean()) if len(returns) else float("nan")
    return Result(job, reached, final, fps, curve)


def jobs(envs: list[str], algos: list[str], seeds: int, timesteps: dict[str, int], pair_seeds: int = 0) -> list[Job]:
    """Seed-major order, version 4 next to A2C, so paired runs overlap in time.

    Every algorithm runs seeds ``0..seeds-1``; version 4 and A2C also ``seeds..pair_seeds-1``.
    """
    order = sorted(algos, key=lambda a: a not in PAIR)
    return [Job(algo, env, seed, timesteps[env]) for seed in range(max(seeds, pair_seeds)) for env in envs
            for algo in order if seed < seeds or algo in PAIR]


def run_all(todo: list[Job], workers: int) -> list[Result]:
    done: list[Result] = []
    if workers <= 1:
        for i, job in enumerate(todo):
            done.append(run(job))
            _progress(i + 1, len(todo), done[-1])
        return done
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for i, result in enumerate(pool.imap_unordered(run, todo, chunksize=1)):
            done.append(result)
            _progress(i + 1, len(todo), result)
    return done


def _progress(i: int, n: int, r: Result) -> None:
    print(f"[{i}/{n}] {r.job.env} {r.job.algo} seed {r.job.seed}: threshold at {r.steps_to_threshold}, "
          f"final {r.final_return:.1f}, {r.fps:.0f} steps/s", flush=True)


# ----------------------------------------------------------------- reporting
def label(algo: str) -> str:
    return "SB3 A2C" if algo == "a2c" else f"pg v{algo}"


def summary(results: list[Result], env: str, algo: str) -> dict[str, Any]:
    rs = [r for r in results if r.job.env == env and r.job.algo == algo]
    hits = [r.steps_to_threshold for r in rs if r.steps_to_threshold is not None]
    # Runs that never reach the threshold count as infinitely slow in the median.
    ordered = sorted(r.steps_to_threshold if r.steps_to_threshold is not None else np.inf for r in rs)
    median = float(np.median(ordered)) if rs else np.inf
    finals = [r.final_return for r in rs]
    return {"runs": len(rs), "reached": len(hits), "median_steps": median,
            "final_mean": float(np.mean(finals)), "final_std": float(np.std(finals)),
            "fps": float(np.median([r.fps for r in rs]))}


def paired_fps_ratio(results: list[Result], env: str) -> float:
    """Median over seeds of fps(version 4) / fps(A2C), runs with the same seed."""
    by = {(r.job.algo, r.job.seed): r.fps for r in results if r.job.env == env}
    ratios = [by[("4", s)] / by[("a2c", s)] for (a, s) in by if a == "4" and ("a2c", s) in by]
    return statistics.median(ratios) if ratios else float("nan")


def fmt_steps(x: float) -> str:
    return "not reached" if not np.isfinite(x) else f"{x:,.0f}"


def markdown(every: list[Result], envs: list[str], algos: list[str], seeds: int, timesteps: dict[str, int],
             wall: float, plot: str) -> str:
    """The ``pg`` section: per-env tables of seeds ``0..seeds-1``, version 4 against A2C on all their seeds."""
    from gymsuite.agents.algorithms.advantages import ESTIMATORS

    results = [r for r in every if r.job.seed < seeds]

    lines = ["## Policy gradient, course versions 0-4 (`benchmarks/pg.py`)", "",
             f"Machine: {benchlib.machine()}. Wall time of the run: {wall / 60:.1f} min "
             f"({multiprocessing.cpu_count()} cores, at most 2 runs at a time, 1 torch thread each).", "",
             f"Budget: {seeds} seeds per algorithm, "
             + ", ".join(f"{timesteps[e]:,} env steps on {e}" for e in envs)
             + ". Hyperparameters: `agents/hyperparams/pg.yml` for every version, the same for SB3 `A2C` "
             "(same network, `n_steps`, learning rate, `gae_lambda`, Adam instead of its default RMSprop). "
             "Returns are those of the training episodes (stochastic policy); steps to threshold = first env "
             f"step where the mean of the last {WINDOW} episodes reaches it; a run that never does counts as "
             "infinitely slow in the median.", ""]
    for env in envs:
        n_envs, kwargs = hyperparams(env)
        lines += [f"### {env} (threshold {THRESHOLDS[env]:g}; n_envs={n_envs}, "
                  + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")", ""]
        rows = []
        for algo in algos:
            s = summary(results, env, algo)
            what = ESTIMATORS[algo].summary if algo in ESTIMATORS else "reference (SB3)"
            rows.append([label(algo), what, f"{s['reached']}/{s['runs']}", fmt_steps(s["median_steps"]),
                         f"{s['final_mean']:.1f} ± {s['final_std']:.1f}", f"{s['fps']:,.0f}"])
        lines += [benchlib.table(["algorithm", "A_t", "reached", "median steps to threshold",
                                  f"final return (last {WINDOW} ep., mean ± std over seeds)", "env steps/s (median)"],
                                 rows), ""]
    if all(a in algos for a in PAIR):
        rows = []
        for env in envs:
            v4, a2c = summary(every, env, "4"), summary(every, env, "a2c")
            ratio = v4["median_steps"] / a2c["median_steps"] if np.isfinite(a2c["median_steps"]) else float("nan")
            rows.append([env, f"{v4['runs']}", f"{v4['reached']} / {a2c['reached']}", fmt_steps(v4["median_steps"]),
                         fmt_steps(a2c["median_steps"]), f"{ratio:.2f}", f"{paired_fps_ratio(every, env):.3f}"])
        lines += ["### Version 4 against SB3 A2C", "",
                  "On every seed both ran (the tables above show the first "
                  f"{seeds}): steps to threshold varies several-fold between seeds of either algorithm, so a "
                  "median over few seeds is mostly noise.", "",
                  benchlib.table(["env", "seeds", "reached v4 / A2C", "v4 median steps", "A2C median steps",
                                  "steps ratio v4/A2C (target 0.8-1.2)", "env steps/s ratio v4/A2C, paired by seed "
                                  "(target >= 1.0)"], rows), ""]
    lines += ["### What it shows", "", observations(results, envs, algos), "",
              f"![learning curves]({plot})", ""]
    return "\n".join(lines)


def observations(results: list[Result], envs: list[str], algos: list[str]) -> str:
    """The ranking measured, then the mechanisms the course gives for it."""
    parts = []
    for env in envs:
        stats = {a: summary(results, env, a) for a in algos if a != "a2c"}
        ranked = sorted(stats, key=lambda a: (stats[a]["median_steps"], -stats[a]["final_mean"]))
        parts.append(f"On {env}, ranked by median steps to threshold (ties and misses by final return): "
                     + " < ".join(f"v{a}" for a in ranked) + ".")
    parts.append(
        "Why, after the course: version 0 weighs each action by its immediate reward, which is the same constant "
        "(+1 on CartPole, -1 on Acrobot) for every action, so its gradient is zero in expectation and it cannot "
        "learn; version 1 sums all future rewards, which on these tasks is the remaining episode length, so it "
        "credits early actions with late luck and has the largest variance; version 2 discounts, which shortens "
        "the credit horizon; version 3 subtracts the batch's mean return so that below-average actions are "
        "pushed down rather than merely pushed up less; versions 3.5 replace the constant baseline by a learned "
        "V(s_t), which removes the variance due to the state, and version 4 also replaces the sampled return by "
        "the critic's estimate r_t + gamma V(s_t+1) (here generalised by GAE's lambda), trading variance for "
        "bias. Critic-free versions also cut their returns at the end of each n_steps rollout (no critic to "
        "bootstrap with), a bias that favours the critic versions at the same n_steps. Version 4 and A2C compute "
        "the same update: tests/agents/test_pg_algorithm.py checks equal weights (to 1e-5) after 25 updates from "
        "the same seed. Over hundreds of updates float rounding (our estimators sum in float64, SB3's in float32) "
        "makes runs of one seed drift apart, so the two behave like independent runs of one algorithm.")
    return "\n\n".join(parts)


def plot_curves(results: list[Result], envs: list[str], algos: list[str], path: Path) -> None:
    """Median over seeds of the moving-average return, one panel per env."""
    fig, axes = benchlib.subplots(len(envs), 6, 4.2)
    for ax, env in zip(axes, envs, strict=True):
        for algo in algos:
            rs = [r for r in results if r.job.env == env and r.job.algo == algo and r.curve]
            if not rs:
                continue
            grid = np.linspace(0, rs[0].job.timesteps, 100)
            ys = np.array([np.interp(grid, [s for s, _ in r.curve], [v for _, v in r.curve], left=np.nan)
                           for r in rs])
            known = ~np.isnan(ys).all(axis=0)  # before any run's first 10 episodes there is nothing to plot
            median = np.full(len(grid), np.nan)
            median[known] = np.nanmedian(ys[:, known], axis=0)
            ax.plot(grid, median, label=label(algo), ls="--" if algo == "a2c" else "-")
        ax.axhline(THRESHOLDS[env], color="grey", lw=0.8, ls=":")
        ax.set(title=env, xlabel="env steps", ylabel=f"return (mean of last {WINDOW} episodes, median over seeds)")
        ax.legend(fontsize=8)
    benchlib.save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, help="seeds 0..S-1 per algorithm and env (default 5; --quick 1)")
    p.add_argument("--pair-seeds", type=int, help="seeds 0..P-1 for version 4 and A2C, compared "
                   "with each other (0: --seeds; default 20; --quick 2)")
    p.add_argument("--timesteps", type=int, help="env steps per run (0: pg.yml's n_timesteps per env, the default; "
                   "--quick: QUICK_STEPS)")
    p.add_argument("--quick", action="store_true", help="tiny budgets to check the whole path; implies --no-write")
    p.add_argument("--envs", nargs="+", default=list(THRESHOLDS), choices=list(THRESHOLDS))
    p.add_argument("--algos", nargs="+", default=[*VERSIONS, "a2c"], choices=[*VERSIONS, "a2c"])
    p.add_argument("--workers", type=int, default=2, help="parallel runs (at most 2 on the shared machine)")
    p.add_argument("--benchmarks", type=Path, default=benchlib.BENCHMARKS, help="markdown file to update")
    p.add_argument("--plot", type=Path, default=ROOT / "docs" / "benchmark_pg.png")
    p.add_argument("--raw", type=Path, default=ROOT / "bench_out" / "benchmark_pg.json")
    p.add_argument("--no-write", action="store_true", help="print the section instead of writing files")
    args = p.parse_args(argv)
    quick = args.quick
    args.seeds = (1 if quick else 5) if args.seeds is None else args.seeds
    args.pair_seeds = (2 if quick else 20) if args.pair_seeds is None else args.pair_seeds
    args.timesteps = args.timesteps or 0
    args.no_write = args.no_write or quick  # quick numbers never reach BENCHMARKS.md

    timesteps = {env: args.timesteps or (QUICK_STEPS[env] if quick else _default_timesteps(env)) for env in args.envs}
    start = time.perf_counter()
    results = run_all(jobs(args.envs, args.algos, args.seeds, timesteps, args.pair_seeds), min(args.workers, 2))
    wall = time.perf_counter() - start
    plot_ref = benchlib.link(args.plot, args.benchmarks)
    text = markdown(results, args.envs, args.algos, args.seeds, timesteps, wall, plot_ref)
    if args.no_write:
        print(text)
        return 0
    args.raw.parent.mkdir(parents=True, exist_ok=True)
    args.raw.write_text(json.dumps([asdict(r) for r in results]))
    plot_curves([r for r in results if r.job.seed < args.seeds], args.envs, args.algos, args.plot)
    benchlib.write_section("pg", text, args.benchmarks)
    print(f"wrote the pg section of {args.benchmarks} and {args.plot}")
    return 0


def _default_timesteps(env: str) -> int:
    from gymsuite.agents.run.config import build_config

    return build_config({"algo": "pg", "env": env}).timesteps


if __name__ == "__main__":
    raise SystemExit(main())
