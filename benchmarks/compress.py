#!/usr/bin/env python
"""Benchmark ``gymsuite compress``: distillation, pruning with fine-tuning and int8 against the teacher.

For each env and training seed a PPO teacher is trained through ``gymsuite train``'s pipeline, then compressed
four ways through ``gymsuite.compress`` (the command's code path), each written as a run directory:

* distillation into a student of at most 1/15 of the teacher's acting parameters (LunarLander: ``net_arch``
  [16] against the shipped [64, 64]; pixel CartPole: ``small_cnn`` with 8 features and [16] against ``small_cnn``
  with 256 and [64]), on-policy (DAgger) at temperature 1;
* global magnitude pruning of 93% of the weights (so that, biases counted, at least 90% of the acting network's
  parameters are zero), gradually during the fine-tuning, the zeros kept: fine-tuned by the unpruned teacher
  (``--finetune-by teacher``, the default) and, beside it, by PPO on the env's reward (``--finetune-by algo``);
* int8: every Linear weight rounded through dynamic quantisation's grid (bytes, latency and agreement of the
  really quantised module).

Cells: the interquartile mean over seeds [95% bootstrap interval] of each seed's IQM return over greedy
episodes (the same seeds for teacher and compressed policy), the acting network's non-zero parameters, the
greedy agreement with the teacher on its on-policy states, and the latency per call at batch 1 (torch).

Targets (issue 25): the distilled student (at most 1/15 of the parameters) keeps at least 95% of the teacher's
IQM return; pruning with fine-tuning reaches at least 90% sparsity (zeros among the acting network's parameters)
within 5% of the teacher's return.

    python -m benchmarks.compress            # full run: 2 envs x 5 seeds, about 40 min on 2 cores
    python -m benchmarks.compress --quick    # 1 seed, tiny budgets, 1 episode; writes nothing
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

ROOT = Path(__file__).resolve().parent.parent
PIXEL_PPO = {"policy": "CnnPolicy", "n_steps": 64, "batch_size": 256, "n_epochs": 4, "learning_rate": "lin_0.001",
             "gamma": 0.98, "gae_lambda": 0.9, "ent_coef": 0.0, "clip_range": 0.2, "normalize": False,
             "backbone": "small_cnn", "policy_kwargs": {"net_arch": [64]},
             "env_kwargs": {"height": 84, "width": 84}}
# env -> the teacher's hyperparameters (LunarLander: the shipped defaults) and the student's size
ENVS: dict[str, dict[str, Any]] = {
    "LunarLander-v3": {"hyper": {}, "student": "16", "n_envs": 16},
    "gymsuite/PixelCartPole-v0": {"hyper": PIXEL_PPO, "student": "small_cnn@8:16", "n_envs": 8},
}
METHODS = ("distill", "prune", "prune_algo", "int8")
LABELS = {"teacher": "teacher", "distill": "distilled", "prune": "pruned + taught by the teacher",
          "prune_algo": "pruned + PPO fine-tuned", "int8": "int8"}
# the targets: zeros among the acting network's parameters (biases included), the student's size, the share of the
# teacher's return; PRUNE: the share of weights pruned, above SPARSITY since biases are left
SPARSITY, RATIO, KEEP, PRUNE = 0.9, 1 / 15, 0.95, 0.93
# per env: teacher's training steps, distillation steps, fine-tuning steps
FULL = {"seeds": 5, "episodes": 20, "states": 1000,
        "budget": {"LunarLander-v3": (500_000, 100_000, 100_000),
                   "gymsuite/PixelCartPole-v0": (60_000, 30_000, 30_000)}}
QUICK = {"seeds": 1, "episodes": 1, "states": 50,
         "budget": {"LunarLander-v3": (2_048, 1_024, 256), "gymsuite/PixelCartPole-v0": (1_024, 512, 256)}}
EXPECTED_FPS = {"LunarLander-v3": 1500, "gymsuite/PixelCartPole-v0": 1500}  # one of 2 workers on 2 cores
DISTILL_FPS, EVAL_FPS = 1000, 600  # distillation's env steps/s; evaluation's greedy steps/s (one env)


def run_one(job: dict[str, Any]) -> dict[str, Any]:
    """Train one teacher, compress it four ways; printed as a JSON line."""
    import gymsuite

    start = time.perf_counter()
    env, (steps, distill_steps, finetune) = job["env"], job["budget"]
    cfg = benchlib.config({"algo": "ppo", "env": env, "timesteps": steps, "seed": job["seed"], "n_envs":
                           ENVS[env]["n_envs"], "eval_freq": 0, "eval_episodes": 1, "checkpoint_freq": 0},
                          ENVS[env]["hyper"])
    teacher = Path(job["run_dir"]) / "teacher"
    benchlib.train(cfg, teacher)
    common = {"episodes": job["episodes"], "states": job["states"], "seed": 10_000 + job["seed"]}
    with benchlib.quiet():
        reports = _compress(gymsuite, teacher, Path(job["run_dir"]), env, distill_steps, finetune, common)
    shutil.rmtree(job["run_dir"], ignore_errors=True)
    keys = ("parameters", "nonzero", "bytes", "latency_b1", "latency_b64", "return_iqm")
    out = {"teacher": {k: reports["int8"]["teacher"][k] for k in keys}}
    for method, report in reports.items():
        out[method] = {k: report["compressed"][k] for k in (*keys, "agreement")}
    return benchlib.job_result(job, {"policies": out}, start)


def _compress(gymsuite: Any, teacher: Path, root: Path, env: str, distill_steps: int, finetune: int,
              common: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The four compressions of ``teacher``, through ``gymsuite.compress``."""
    return {
        "distill": gymsuite.compress(teacher, root / "distill", distill=ENVS[env]["student"], steps=distill_steps,
                                     **common),
        "prune": gymsuite.compress(teacher, root / "prune", prune=PRUNE, finetune=finetune, **common),
        "prune_algo": gymsuite.compress(teacher, root / "prune_algo", prune=PRUNE, finetune=finetune,
                                        finetune_by="algo", **common),
        "int8": gymsuite.compress(teacher, root / "int8", int8=True, **common),
    }


def run_all(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    return benchlib.run_jobs(run_one, jobs, workers)


def jobs_for(seeds: int, budget: dict[str, tuple[int, int, int]], episodes: int, states: int,
             workdir: Path) -> list[dict[str, Any]]:
    """One job per env and training seed."""
    return [{"env": env, "seed": s, "steps": budget[env][0], "budget": budget[env], "episodes": episodes,
             "states": states, "run_dir": str(workdir / f"e{i}-s{s}")} for i, env in enumerate(ENVS)
            for s in range(seeds)]


def estimate_minutes(jobs: list[dict[str, Any]], workers: int) -> float:
    seconds = 0.0
    for j in jobs:
        steps, distill, finetune = j["budget"]
        episode_steps = 5 * j["episodes"] * (400 if j["env"].startswith("Lunar") else 450)  # teacher + 4
        seconds += (steps + finetune) / EXPECTED_FPS[j["env"]] + (distill + finetune) / DISTILL_FPS \
            + episode_steps / EVAL_FPS + 10
    return seconds / max(workers, 1) / 60


def per_seed(results: list[dict[str, Any]], env: str, policy: str, key: str) -> list[float]:
    """``(S,)``: ``key`` of ``policy`` (teacher or a method) on ``env``, one value per seed."""
    return [float(r["policies"][policy][key]) for r in results if r["env"] == env]


def targets(results: list[dict[str, Any]], env: str) -> dict[str, float]:
    """The student's size and return, and the pruned policy's sparsity and return, as shares of the teacher's."""
    teacher = iqm(per_seed(results, env, "teacher", "return_iqm"))
    params = iqm(per_seed(results, env, "teacher", "parameters"))
    share = (lambda v: v / teacher) if teacher > 0 else (lambda v: float("nan"))
    return {"teacher": teacher, "student_size": iqm(per_seed(results, env, "distill", "parameters")) / params,
            "student_return": share(iqm(per_seed(results, env, "distill", "return_iqm"))),
            "sparsity": 1 - iqm(per_seed(results, env, "prune", "nonzero")) / params,
            "pruned_return": share(iqm(per_seed(results, env, "prune", "return_iqm"))),
            "pruned_algo_return": share(iqm(per_seed(results, env, "prune_algo", "return_iqm")))}


def verdict(results: list[dict[str, Any]], env: str) -> str:
    t = targets(results, env)
    student = t["student_size"] <= RATIO and t["student_return"] >= KEEP
    pruned = t["sparsity"] >= SPARSITY and t["pruned_return"] >= KEEP
    return (f"{env} (teacher IQM {t['teacher']:.1f}): the student has {t['student_size']:.1%} of the teacher's "
            f"parameters and {t['student_return']:.0%} of its return (target <= {RATIO:.1%} and >= {KEEP:.0%}: "
            f"{'met' if student else 'not met'}); pruned to {t['sparsity']:.0%} zeros and taught by the teacher, "
            f"{t['pruned_return']:.0%} (target >= {SPARSITY:.0%} zeros and >= {KEEP:.0%}: "
            f"{'met' if pruned else 'not met'}); fine-tuned by PPO instead, {t['pruned_algo_return']:.0%}.")


def markdown(results: list[dict[str, Any]], args: argparse.Namespace, wall: float, workers: int) -> str:
    header = ["env", "policy", "non-zero parameters", "bytes", "us/call (batch 1)", "us/call (batch 64)",
              "greedy agreement", "return"]
    rows = []
    for env in ENVS:
        for policy in ("teacher", *METHODS):
            agreement = "-" if policy == "teacher" else summary([100 * a for a in per_seed(results, env, policy,
                                                                                         "agreement")], 1) + "%"
            rows.append([env, LABELS[policy], summary(per_seed(results, env, policy, "nonzero")),
                         summary(per_seed(results, env, policy, "bytes")),
                         summary([1e6 * v for v in per_seed(results, env, policy, "latency_b1")], 1),
                         summary([1e6 * v for v in per_seed(results, env, policy, "latency_b64")], 1),
                         agreement, summary(per_seed(results, env, policy, "return_iqm"), 1)])
    budgets = "; ".join(f"{env}: teacher {b[0]:,} steps, distillation {b[1]:,}, fine-tuning {b[2]:,}"
                        for env, b in args.budget.items())
    text = [f"## Compression (`benchmarks/compress.py`)\n\nMachine: {benchlib.machine()}. Wall time {wall / 60:.1f} "
            f"min with {workers} worker processes. PPO teachers ({budgets}), {args.seeds} seed(s) per env, each "
            f"compressed by `gymsuite compress` four ways (pruning's fine-tuning both by the unpruned teacher, "
            f"the default, and by PPO); returns over {args.episodes} greedy episodes, agreement "
            f"on {args.states} on-policy states of the teacher. Cells: interquartile mean over seeds [95% bootstrap "
            "interval]. Parameters, bytes and latency are the acting network's (the critic left out); int8's bytes, "
            "latency and agreement are the dynamically quantised module's, its return that of the rounded weights.",
            "", benchlib.table(header, rows), "", *[verdict(results, env) for env in ENVS]]
    return "\n".join(text)


Runner = benchlib.Runner


def main(argv: list[str] | None = None, run: Runner = run_all) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, help=f"training seeds per env (default {FULL['seeds']}; --quick 1)")
    p.add_argument("--episodes", type=int, help=f"greedy episodes per return (default {FULL['episodes']}; --quick 1)")
    p.add_argument("--states", type=int, help=f"on-policy states of the agreement (default {FULL['states']})")
    benchlib.add_run_options(p)
    p.set_defaults(budget=None)  # env -> (teacher, distillation, fine-tuning) steps: FULL's, or --quick's
    args = p.parse_args(argv)
    benchlib.fill_budget(args, FULL, QUICK)
    return benchlib.run_benchmark(
        "compress", args, lambda tmp: jobs_for(args.seeds, args.budget, args.episodes, args.states, tmp), run,
        lambda results, seconds, workers: markdown(results, args, seconds, workers), estimate_minutes)


if __name__ == "__main__":
    main()
    sys.exit(0)
