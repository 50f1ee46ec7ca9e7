#!/usr/bin/env python
"""Benchmark memory: MLP, frame stack, transformer and LSTM on tasks one observation cannot solve.

Two sections, each a function of (budget, seeds):
  * cartpole: PPO on CartPole without its velocities (``gymsuite/CartPoleNoVel-v0``, shipped defaults of
    ``agents/hyperparams/ppo.yml``) with each memory backbone, through ``gymsuite train``'s pipeline, beside
    the reference: sb3-contrib's ``RecurrentPPO`` with rl-baselines3-zoo's ``ppo_lstm`` hyperparameters for
    ``CartPoleNoVel-v1``, built by hand on the same env in the same run. Env steps and wall seconds until
    the mean return of the last 10 training episodes reaches 475, steps/s, the final evaluation, and one plot
    of the learning curves (target: the best memory backbone reaches 475 in every seed in at most a third of
    ``RecurrentPPO``'s wall time; the MLP, without memory, must fail);
  * tmaze: the passive T-maze (``gymsuite/TMaze-v0``) at corridor lengths L: the cue is seen at step 0 and
    needed at step L, so the table shows at which horizon each backbone stops working (frame stack and
    transformer see a window of ``context`` steps; the LSTM carries its state).
Every number is an interquartile mean over seeds with a 95% bootstrap interval (benchmarks/stats.py).

    python -m benchmarks.memory              # full run, about 45 min on 2 cores (it prints its estimate)
    python -m benchmarks.memory --quick      # 1 seed, tiny budgets; writes nothing
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import benchlib
from gymsuite.common.stats import iqm, steps_to_threshold, summary

ROOT = Path(__file__).resolve().parent.parent
PLOT = ROOT / "docs" / "benchmark_memory.png"
CARTPOLE = "gymsuite/CartPoleNoVel-v0"
TMAZE = "gymsuite/TMaze-v0"
THRESHOLD = 475.0
WINDOW = 10  # training episodes averaged for the threshold
N_ENVS = 8
SOLVED = 0.9  # a T-maze run works when its final deterministic evaluation averages at least this (of +1)
TMAZE_EVAL_EPISODES = 20
TMAZE_EPISODES = 2048  # at least this many training episodes per T-maze run (an LSTM needs ~3,000 at L=16)


@dataclass(frozen=True)
class Variant:
    """A row: its name and the hyperparameters it adds to the shipped defaults (``reference``: RecurrentPPO)."""

    name: str
    hyper: dict[str, Any]
    reference: bool = False


OWN_DEFAULTS = "transformer, its own options (16-step window, 64 wide, 20 epochs)"
REFERENCE = Variant("RecurrentPPO (sb3-contrib, zoo hyperparameters)", {}, reference=True)
CARTPOLE_VARIANTS = [Variant("mlp (no memory)", {}), Variant("framestack", {"backbone": "framestack"}),
                     Variant("transformer", {"backbone": "transformer"}),
                     # the backbone's own options and the entry's 20 epochs: the transformer row before its
                     # per-backbone defaults (agents/hyperparams/ppo.yml), kept to show what they changed
                     Variant(OWN_DEFAULTS, {"backbone": "transformer", "backbone_kwargs": {}, "n_epochs": 20}),
                     Variant("lstm", {"backbone": "lstm"}), REFERENCE]
TMAZE_VARIANTS = [Variant("mlp (no memory)", {}), Variant("framestack", {"backbone": "framestack"}),
                  Variant("transformer", {"backbone": "transformer"}), Variant("lstm", {"backbone": "lstm"})]
# rl-baselines3-zoo's hyperparams/ppo_lstm.yml, CartPoleNoVel-v1 (n_envs 8, normalize: true, 1e5 steps).
ZOO_PPO_LSTM: dict[str, Any] = {"n_steps": 32, "batch_size": 256, "gae_lambda": 0.8, "gamma": 0.98, "n_epochs": 20,
                                "ent_coef": 0.0, "learning_rate": 0.001, "clip_range": 0.2}
ZOO_POLICY_KWARGS = {"ortho_init": False, "lstm_hidden_size": 64, "enable_critic_lstm": True,
                     "net_arch": {"pi": [64], "vf": [64]}}  # and activation_fn=nn.ReLU
FULL = {"seeds": 5, "cartpole_steps": 100_000, "tmaze_steps": 16_384}
QUICK = {"seeds": 1, "cartpole_steps": 1_024, "tmaze_steps": 1_024}
LENGTHS = [2, 4, 8, 16, 32]
QUICK_LENGTHS = [2]
# Training steps/s assumed by the time estimate (2 workers on 2 cores); measured by this benchmark.
EXPECTED_FPS = {"mlp (no memory)": 5000, "framestack": 5000, "transformer": 2500, OWN_DEFAULTS: 1000,
                "lstm": 600, REFERENCE.name: 630}


def tmaze_steps(budget: int, length: int) -> int:
    """Env steps of a T-maze run: ``budget``, and at least :data:`TMAZE_EPISODES` episodes of ``length + 1`` steps."""
    return max(budget, TMAZE_EPISODES * (length + 1))


def train_job(job: dict[str, Any]) -> dict[str, Any]:
    """Train one gymsuite variant and seed through the pipeline (``gymsuite train``'s code)."""
    hyper = dict(job["hyper"])
    if job["env_kwargs"]:
        hyper["env_kwargs"] = job["env_kwargs"]
    cli = {"algo": "ppo", "env": job["env"], "seed": job["seed"], "timesteps": job["steps"], "n_envs": N_ENVS,
           "eval_freq": 0, "eval_episodes": job["eval_episodes"], "checkpoint_freq": 0}
    cfg = benchlib.config(cli, hyper)
    curve = benchlib.EpisodeCurve(THRESHOLD if job["stop"] else None, WINDOW)
    run_dir = Path(job["run_dir"])
    trained = benchlib.train(cfg, run_dir, callbacks=[curve])
    shutil.rmtree(run_dir, ignore_errors=True)
    return {"fps": trained.steps / trained.seconds, "seconds": trained.seconds, "steps": trained.steps,
            "final_return": trained.eval["mean_return"], "curve": [curve.steps, curve.seconds, curve.returns]}


def reference_job(job: dict[str, Any]) -> dict[str, Any]:
    """sb3-contrib's RecurrentPPO with the zoo's CartPoleNoVel hyperparameters, built by hand on the same env."""
    import torch
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.utils import LinearSchedule
    from stable_baselines3.common.vec_env import VecNormalize

    import gymsuite.envs.custom  # noqa: F401  (registers the gymsuite/ ids, as make_env does)

    torch.set_num_threads(1)
    venv = VecNormalize(make_vec_env(job["env"], N_ENVS, seed=job["seed"]), gamma=ZOO_PPO_LSTM["gamma"])
    kwargs = {**ZOO_PPO_LSTM, "learning_rate": LinearSchedule(0.001, 0.0, 1.0),
              "clip_range": LinearSchedule(0.2, 0.0, 1.0)}
    model = RecurrentPPO("MlpLstmPolicy", venv, seed=job["seed"], verbose=0, device="cpu",
                         policy_kwargs={**ZOO_POLICY_KWARGS, "activation_fn": torch.nn.ReLU}, **kwargs)
    curve = benchlib.EpisodeCurve(THRESHOLD if job["stop"] else None, WINDOW)
    start = time.perf_counter()
    model.learn(job["steps"], callback=curve)
    seconds = time.perf_counter() - start
    eval_env = VecNormalize(make_vec_env(job["env"], 1, seed=job["seed"] + 10_000), training=False, norm_reward=False)
    eval_env.obs_rms = venv.obs_rms.copy()
    mean, _ = evaluate_policy(model, eval_env, n_eval_episodes=job["eval_episodes"], deterministic=True)
    return {"fps": model.num_timesteps / seconds, "seconds": seconds, "steps": model.num_timesteps,
            "final_return": float(np.mean(mean)), "curve": [curve.steps, curve.seconds, curve.returns]}


def run_one(job: dict[str, Any]) -> dict[str, Any]:
    """One job (a gymsuite run or the reference); its job keys plus results, also printed as a JSON line."""
    start = time.perf_counter()
    out = reference_job(job) if job["reference"] else train_job(job)
    return benchlib.job_result(job, out, start)


def run_all(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    """:func:`run_one` on ``jobs`` in at most ``workers`` processes (:func:`benchmarks.benchlib.run_jobs`)."""
    return benchlib.run_jobs(run_one, jobs, workers)


Runner = Callable[[list[dict[str, Any]], int], list[dict[str, Any]]]


def jobs_for(variants: list[Variant], env: str, steps: int, seeds: list[int], workdir: Path,
             env_kwargs: dict[str, Any] | None = None, eval_episodes: int = 10, tag: str = "",
             stop: bool = False) -> list[dict[str, Any]]:
    """One job per variant and seed; ``stop``: the run ends once it reaches :data:`THRESHOLD`."""
    out = []
    for v in variants:
        slug = "".join(c if c.isalnum() else "-" for c in f"{v.name}{tag}")
        out += [{"variant": v.name, "reference": v.reference, "hyper": v.hyper, "env": env,
                 "env_kwargs": env_kwargs or {}, "seed": s, "steps": steps, "eval_episodes": eval_episodes,
                 "stop": stop, "run_dir": str(workdir / f"{slug}-s{s}")} for s in seeds]
    return out


def estimate_minutes(jobs: list[dict[str, Any]], workers: int) -> float:
    """Wall minutes the jobs should take at :data:`EXPECTED_FPS`, plus about 4 s of start-up and evaluation each."""
    seconds = sum(j["steps"] / EXPECTED_FPS.get(j["variant"], 600) + 4 for j in jobs)
    return seconds / max(workers, 1) / 60


def section_cartpole(results: list[dict[str, Any]], variants: list[Variant], steps: int, seeds: list[int],
                     plot: Path | None) -> str:
    """The cartpole table: reached, steps and seconds to the threshold, time against the reference, steps/s."""
    by = {v.name: [r for r in results if r["variant"] == v.name] for v in variants}
    hits = {name: [steps_to_threshold(r["curve"][0], r["curve"][1], r["curve"][2], THRESHOLD, r["steps"],
                                      r["seconds"], WINDOW) for r in rs] for name, rs in by.items()}
    ref = hits.get(REFERENCE.name)
    ref_seconds = iqm([h.seconds for h in ref]) if ref else None
    rows = []
    for name, rs in by.items():
        hs = hits[name]
        against = f"{iqm([h.seconds for h in hs]) / ref_seconds:.2f}x" if ref_seconds else "n/a"
        rows.append([name, f"{sum(h.reached for h in hs)}/{len(hs)}", summary([h.steps for h in hs]),
                     summary([h.seconds for h in hs], 1), against, summary([r["fps"] for r in rs]),
                     summary([r["final_return"] for r in rs], 1)])
    text = [f"### CartPole without velocities: PPO on {CARTPOLE}, {steps:,} env steps per run, {len(seeds)} seeds",
            "",
            f"Threshold: the mean return of the last {WINDOW} training episodes reaches {THRESHOLD:g}; a run stops "
            "there, and one that never does counts as its whole run (*reached* says how many did). *Final return*: "
            "the deterministic evaluation (10 episodes) of the model where the run stopped. *steps/s*: the run's "
            "whole training. gymsuite's rows use the shipped defaults of "
            f"agents/hyperparams/ppo.yml for {CARTPOLE} (with the transformer's own part of that entry) and each "
            "other backbone's default options; the reference is "
            f"RecurrentPPO('MlpLstmPolicy') with rl-baselines3-zoo's ppo_lstm hyperparameters for CartPoleNoVel-v1 "
            f"({json.dumps(ZOO_PPO_LSTM)}, linear schedules, normalize, policy_kwargs "
            f"{json.dumps(ZOO_POLICY_KWARGS)} with ReLU) on the same env.", ""]
    text += [benchlib.table(["variant", "reached", "env steps to threshold", "seconds to threshold",
                             "seconds vs RecurrentPPO", "steps/s", "final return"], rows), ""]
    mlp = hits.get(CARTPOLE_VARIANTS[0].name)
    if mlp:
        text += [f"The MLP without memory reached the threshold in {sum(h.reached for h in mlp)} of {len(mlp)} seeds.",
                 ""]
    best = _best_memory(hits) if ref_seconds else None
    if ref_seconds and best is not None:
        ratio = iqm([h.seconds for h in hits[best]]) / ref_seconds
        every = all(h.reached for h in hits[best])
        met = every and ratio <= 1 / 3
        text += [f"Target (the best memory backbone reaches {THRESHOLD:g} in every seed in at most 1/3 of "
                 f"RecurrentPPO's wall time): {'met' if met else 'not met'} by {best} ({ratio:.2f}x, "
                 f"{'every seed' if every else 'not every seed'}).", ""]
    transformer = hits.get("transformer")
    if ref_seconds and transformer:
        ratio = iqm([h.seconds for h in transformer]) / ref_seconds
        every = all(h.reached for h in transformer)
        text += [f"Target (the transformer with its shipped defaults reaches {THRESHOLD:g} in every seed in no more "
                 f"wall time than RecurrentPPO): {'met' if every and ratio <= 1 else 'not met'} ({ratio:.2f}x, "
                 f"{sum(h.reached for h in transformer)} of {len(transformer)} seeds).", ""]
    if plot is not None and results:
        plot_cartpole(by, plot)
        text += [f"![learning curves]({benchlib.link(plot, benchlib.BENCHMARKS)})", ""]
    return "\n".join(text)


def _best_memory(hits: dict[str, list[Any]]) -> str | None:
    """The gymsuite memory backbone with the most seeds reaching the threshold, then the least IQM wall time."""
    names = [n for n in hits if n not in (REFERENCE.name, CARTPOLE_VARIANTS[0].name) and hits[n]]
    if not names:
        return None
    return min(names, key=lambda n: (-sum(h.reached for h in hits[n]), iqm([h.seconds for h in hits[n]])))


def rolling(returns: list[float], window: int = WINDOW) -> np.ndarray:
    """``(T,)`` mean of the last ``window`` returns at each episode end (fewer at the start)."""
    r = np.asarray(returns, np.float64)
    c = np.cumsum(np.insert(r, 0, 0.0))
    idx = np.arange(1, len(r) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def plot_cartpole(by: dict[str, list[dict[str, Any]]], path: Path) -> None:
    """Two panels, against env steps and against wall seconds: the median over seeds of the rolling return
    (a run that stopped at the threshold holds its last value)."""
    fig, axes = benchlib.subplots(2, 6, 4.2)
    for ax, axis, label in ((axes[0], 0, "env steps"), (axes[1], 1, "wall seconds")):
        for name, rs in by.items():
            rs = [r for r in rs if r["curve"][0]]
            if not rs:
                continue
            end = max(r["curve"][axis][-1] for r in rs)
            grid = np.linspace(0, end, 200)
            ys = np.array([np.interp(grid, r["curve"][axis], rolling(r["curve"][2]), left=np.nan) for r in rs])
            known = ~np.isnan(ys).all(axis=0)
            median = np.full(len(grid), np.nan)
            median[known] = np.nanmedian(ys[:, known], axis=0)
            ax.plot(grid, median, label=name, ls="--" if name == REFERENCE.name else "-")
        ax.axhline(THRESHOLD, color="grey", lw=0.8, ls=":")
        ax.set(title=f"{CARTPOLE}", xlabel=label, ylabel=f"return (last {WINDOW} episodes, median over seeds)")
        ax.legend(fontsize=7)
    benchlib.save_figure(fig, path)


def section_tmaze(results: list[dict[str, Any]], variants: list[Variant], lengths: list[int], budget: int,
                  seeds: list[int]) -> str:
    """The T-maze table: per backbone and corridor length, the seeds that solved it and the final return."""
    rows = []
    for v in variants:
        row: list[object] = [v.name]
        for length in lengths:
            rs = [r for r in results if r["variant"] == v.name and r["env_kwargs"].get("length") == length]
            if not rs:
                row.append("n/a")
                continue
            finals = [r["final_return"] for r in rs]
            solved = sum(f >= SOLVED for f in finals)
            row.append(f"{solved}/{len(rs)}: {iqm(finals):.2f}")
        fps = [r["fps"] for r in results if r["variant"] == v.name]
        row.append(summary(fps) if fps else "n/a")
        rows.append(row)
    return "\n".join([
        f"### Passive T-maze: PPO on {TMAZE} at corridor length L, {len(seeds)} seeds, "
        f"{budget:,} env steps per run (at least {TMAZE_EPISODES:,} episodes)", "",
        f"The cue is seen at step 0 and needed at step L. Cells: *seeds solved / seeds: IQM final return*, the final "
        f"return being the deterministic evaluation over {TMAZE_EVAL_EPISODES} episodes (+1 right, -1 wrong); a seed "
        f"solves L when it is at least {SOLVED:g}. A policy without memory expects 0 at every L. frame stack and "
        "transformer see a window of their default context (4 and 16 steps), so they can solve L only while "
        "L < context; the LSTM's reach depends on what training teaches it.", "",
        benchlib.table(["backbone", *[f"L={n}" for n in lengths], "steps/s"], rows)])


SECTIONS = ("cartpole", "tmaze")


def main(argv: list[str] | None = None, run: Runner = run_all) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    p.add_argument("--seeds", type=int, help=f"seeds per variant (default {FULL['seeds']}; --quick {QUICK['seeds']})")
    for key in ("cartpole_steps", "tmaze_steps"):
        p.add_argument(f"--{key.replace('_', '-')}", type=int, help=f"default {FULL[key]:,} (--quick {QUICK[key]:,})")
    p.add_argument("--lengths", type=int, nargs="+", help=f"T-maze corridor lengths (default {LENGTHS})")
    p.add_argument("--variants", nargs="+", help="only these rows (names as in the tables)")
    benchlib.add_run_options(p, PLOT)
    args = p.parse_args(argv)
    benchlib.fill_budget(args, FULL, QUICK)
    lengths = args.lengths or (QUICK_LENGTHS if args.quick else LENGTHS)
    seeds = list(range(args.seeds))
    keep = (lambda vs: [v for v in vs if v.name in args.variants]) if args.variants else (lambda vs: vs)
    cart, maze = keep(CARTPOLE_VARIANTS), keep(TMAZE_VARIANTS)
    write = not (args.no_write or args.quick)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gymsuite-bench-memory-") as tmp:
        workdir = Path(tmp)
        cart_jobs = jobs_for(cart, CARTPOLE, args.cartpole_steps, seeds, workdir, stop=True) \
            if "cartpole" in args.sections else []
        maze_jobs = [j for n in lengths for j in jobs_for(maze, TMAZE, tmaze_steps(args.tmaze_steps, n), seeds, workdir,
                                                           {"length": n}, TMAZE_EVAL_EPISODES, f"-L{n}")
                     ] if "tmaze" in args.sections else []
        workers = min(args.workers, 2)
        print(f"estimated wall time: about {estimate_minutes(cart_jobs + maze_jobs, workers):.0f} min", flush=True)
        results = run(cart_jobs + maze_jobs, workers) if cart_jobs or maze_jobs else []
    parts = []
    if "cartpole" in args.sections:
        parts.append(section_cartpole([r for r in results if r["env"] == CARTPOLE], cart, args.cartpole_steps, seeds,
                                      args.plot if write else None))
    if "tmaze" in args.sections:
        parts.append(section_tmaze([r for r in results if r["env"] == TMAZE], maze, lengths, args.tmaze_steps, seeds))
    text = "\n\n".join([f"## Memory (`benchmarks/memory.py`)\n\nMachine: {benchlib.machine()}. Wall time "
                        f"{(time.perf_counter() - start) / 60:.1f} min with {workers} worker processes (two runs share "
                        f"the 2 cores, the reference's included: compare seconds within a table). {N_ENVS} envs per "
                        "run. Cells: interquartile mean over seeds [95% bootstrap interval].", *parts])
    benchlib.publish("memory", text, args.benchmarks, write)
    return text


if __name__ == "__main__":
    main()
    sys.exit(0)
