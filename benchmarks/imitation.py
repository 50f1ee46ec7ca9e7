#!/usr/bin/env python
"""Benchmark imitation learning: BC, DAgger, GAIL and AIRL against a PPO expert, from few demos and perturbed starts.

On CartPole-v1 and Acrobot-v1 a PPO expert is trained with gymsuite's own pipeline
(``agents/hyperparams/ppo.yml``) and 20 of its greedy episodes are recorded as demonstrations.
Each learner trains through the same pipeline, with its ``agents/hyperparams/<algo>.yml``
defaults, from the first 1, 5 or 20 of them, 5 seeds each (DAgger also asks the expert to label
the states it reaches). Every policy, expert and uniformly random ones included, is then
evaluated greedily on the same episodes, on seeds no training used, under two starts:

* normal: the env as registered;
* perturbed: :class:`PerturbedStart` plays K random actions after every reset before the
  policy takes over, so the policy begins in states the demonstrations rarely contain.

Score = (R - R_random) / (R_expert - R_random), all three under the same start: 1 is the
expert, 0 is random. BC's compounding error shows as a score that falls with few
demonstrations or under perturbed starts while DAgger's and GAIL's hold up.

Experts and learners train through ``gymsuite train``'s pipeline (``build_config`` +
``training.train``) and are scored as ``gymsuite evaluate`` loads them; the settings, jobs and
results are in ``imitation_setup.py``, the section and plot in ``imitation_report.py``.

Writes the ``imitation`` section of BENCHMARKS.md and ``docs/benchmark_imitation.png``;
experts, demonstrations, runs and the raw results go to ``bench_out/imitation/``
(``bench_out/imitation-quick/`` with ``--quick``, whose weak experts are never reused by a full run).

    python -m benchmarks.imitation           # everything (about 26 minutes on 2 cores); ./tasks.sh bench imitation
    python -m benchmarks.imitation --quick   # tiny budgets, 1 seed, episodes 1 and 5; writes nothing
    python -m benchmarks.imitation --envs CartPole-v1 --algos bc gail --no-write
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import multiprocessing
import time
from dataclasses import asdict
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmarks import benchlib
from benchmarks.imitation_report import LABELS, markdown, plot
from benchmarks.imitation_setup import (
    DEMO_EPISODES,
    DEMO_SEED,
    EVAL_ENVS,
    EVAL_SEED,
    PERTURB_STEPS,
    QUICK_STEPS,
    RUN_ORDER,
    STARTS,
    Expert,
    ExpertJob,
    Job,
    Result,
    safe,
)
from gymsuite.commands import _cli
from gymsuite.envs.wrappers import PerturbedStart

if TYPE_CHECKING:
    from gymsuite.agents.data.demos import Demos

ROOT = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------- measuring
def mean_returns(target: str, env: str, episodes: int) -> dict[str, float]:
    """Greedy mean return of ``target`` (a run directory or ``"random"``) under each start, on the shared seeds."""
    from gymsuite.agents.saved.evaluation import run_episodes
    from gymsuite.agents.saved.loading import load_agent, make_agent_env

    agent = load_agent(target, env=env)
    out = {}
    for start in STARTS:
        venv = make_agent_env(agent, seed=EVAL_SEED, n_envs=EVAL_ENVS, wrappers=start_wrappers(env, start))
        try:
            out[start] = float(np.mean([e["r"] for e in run_episodes(agent, venv, episodes)]))
        finally:
            venv.close()
    return out


def start_wrappers(env: str, start: str) -> list[Any]:
    """The env wrappers of a start kind: none for ``normal``, :class:`PerturbedStart` for ``perturbed``."""
    return [functools.partial(PerturbedStart, steps=PERTURB_STEPS[env])] if start == "perturbed" else []


def start_distance(env: str, demo_obs: np.ndarray, starts: int = 200) -> dict[str, float]:
    """How far each start puts the policy from the demonstrations.

    Args:
        env: the env id.
        demo_obs: every demonstrated observation, ``(M, O)``.
        starts: start states drawn per start kind (S).

    Returns:
        start -> median over S start states of the Euclidean distance to the nearest
        demonstrated state, each dimension divided by its std over ``demo_obs``.
    """
    from gymsuite.envs.factory import make_env

    demo = demo_obs.reshape(len(demo_obs), -1).astype(np.float64)  # (M, O)
    scale = demo.std(axis=0) + 1e-8  # (O,)
    out = {}
    for start in STARTS:
        venv = make_env(env, n_envs=1, seed=EVAL_SEED, wrappers=start_wrappers(env, start))
        first = np.concatenate([venv.reset() for _ in range(starts)]).reshape(starts, -1)  # (S, O)
        venv.close()
        gaps = np.sqrt((((first[:, None, :] - demo[None]) / scale) ** 2).sum(axis=-1))  # (S, M)
        out[start] = float(np.median(gaps.min(axis=1)))
    return out


def usable_expert(run_dir: Path, env: str, timesteps: int) -> bool:
    """A run on ``env`` that finished this budget (``eval.json`` is written last), or a hand-made expert,
    and that the product still loads (an expert saved in an older format is trained again).

    A hand-made expert (e.g. the tests' ``linear_expert``) has a ``config.yaml`` without ``timesteps``.
    """
    from gymsuite.agents.saved.loading import load_agent, make_agent_env
    from gymsuite.common.errors import UserError
    from gymsuite.common.files import read_yaml

    try:
        cfg = read_yaml(run_dir / "config.yaml")
    except UserError:
        return False
    if not (run_dir / "model.zip").is_file() or cfg.get("env") != env:
        return False
    # The pipeline rounds an on-policy budget up to whole rollouts and saves the rounded one.
    rollout = int(cfg.get("hyperparams", {}).get("n_steps", 1)) * int(cfg.get("n_envs") or 1)
    finished = "timesteps" not in cfg or (timesteps <= cfg["timesteps"] < timesteps + rollout
                                          and (run_dir / "eval.json").is_file())
    if not finished:
        return False
    try:
        make_agent_env(load_agent(str(run_dir)), n_envs=1).close()  # the normaliser's file too
    except UserError:
        return False
    return True


def record(expert_dir: Path, env: str, path: Path, episodes: int, reuse: bool) -> Demos:
    """The expert's first ``episodes`` greedy episodes in ``path``, recorded anew unless ``reuse`` finds enough."""
    from imitation.data.wrappers import RolloutInfoWrapper

    from gymsuite.agents.data.demos import load_demos, save_demos
    from gymsuite.agents.data.recording import record_demos
    from gymsuite.agents.saved.experts import load_expert
    from gymsuite.common.errors import UserError
    from gymsuite.envs.factory import make_env

    if reuse and path.is_file():
        with contextlib.suppress(UserError):
            demos = load_demos(path)
            if demos.env == env and demos.n_episodes >= episodes:
                return demos.head(episodes)
    policy, _ = load_expert(str(expert_dir), env=env)
    venv = make_env(env, n_envs=1, seed=DEMO_SEED, wrappers=[RolloutInfoWrapper])
    try:
        demos = record_demos(policy, venv, episodes, env, seed=DEMO_SEED, source=f"{expert_dir} (greedy)")
    finally:
        venv.close()
    save_demos(path, demos)
    return demos


def prepare_expert(job: ExpertJob) -> Expert:
    """Train (or reuse) the PPO expert of ``job.env``, record its demonstrations, score it and random play."""
    import torch

    from gymsuite.agents.run.config import build_config

    torch.set_num_threads(1)
    out = Path(job.out)
    tag = safe(job.env) + (f"-s{job.seed}" if job.seed else "")
    run_dir = out / f"expert-{tag}"
    # The zoo's preset, as the published tables were measured with: an expert trained to its budget, not to a threshold.
    cfg = build_config({"algo": "ppo", "env": job.env, "timesteps": job.timesteps or None, "seed": job.seed,
                        "preset": "zoo"})
    trained = job.retrain or not usable_expert(run_dir, job.env, cfg.timesteps)
    if trained:
        benchlib.train(cfg, run_dir)
    evaluation = json.loads((run_dir / "eval.json").read_text()) if (run_dir / "eval.json").is_file() else {}
    demos_file = out / f"demos-{tag}.npz"
    demos = record(run_dir, job.env, demos_file, job.demo_episodes, reuse=not trained)
    distance = start_distance(job.env, demos.obs)
    returns = {f"{who}/{start}": r for who, target in (("expert", str(run_dir)), ("random", "random"))
               for start, r in mean_returns(target, job.env, job.eval_episodes).items()}
    expert = Expert(job.env, str(run_dir), str(demos_file), cfg.timesteps, trained,
                    float(evaluation.get("train_seconds", "nan")),
                    demos.n_episodes, float(demos.returns().mean()), distance, returns)
    print(json.dumps(asdict(expert)), flush=True)
    return expert


def run_learner(job: Job) -> Result:
    """Train one learner through ``gymsuite.agents.run.training.train`` and score it under both starts."""
    import torch

    from gymsuite.agents.run.config import build_config

    torch.set_num_threads(1)
    begin = time.perf_counter()
    cli = {"algo": job.algo, "env": job.env, "seed": job.seed, "timesteps": job.timesteps or None,
           "demos": job.demos, "expert": job.expert if job.algo == "dagger" else None,
           "eval_freq": 0, "eval_episodes": EVAL_ENVS}  # we evaluate ourselves, on the shared seeds
    cfg = build_config(cli, overrides=[f"demo_episodes={job.episodes}"])
    trained = benchlib.train(cfg, Path(job.run_dir))
    returns = mean_returns(job.run_dir, job.env, job.eval_episodes)
    result = Result(job, returns, trained.seconds, time.perf_counter() - begin, trained.steps)
    print(json.dumps(asdict(result)), flush=True)
    return result


def learner_jobs(expert: Expert, args: argparse.Namespace) -> list[Job]:
    out = Path(args.out)
    return [Job(expert.env, algo, n, seed, expert.run_dir, expert.demos,
                str(out / "runs" / f"{safe(expert.env)}-{algo}-{n}-{seed}"),
                QUICK_STEPS[algo] if args.quick else 0, args.eval_episodes)
            for algo in RUN_ORDER if algo in args.algos for n in args.episodes for seed in range(args.seeds)]


def run_all(args: argparse.Namespace) -> tuple[dict[str, Expert], list[Result]]:
    """Experts first; each env's learners are queued as soon as its expert is ready."""
    demos = max(DEMO_EPISODES, *args.episodes)
    todo = [ExpertJob(env, str(args.out), QUICK_STEPS["ppo"][env] if args.quick else 0, demos, args.eval_episodes,
                      args.retrain_experts, args.expert_seed) for env in args.envs]
    experts: dict[str, Expert] = {}
    results: list[Result] = []
    if args.workers <= 1:
        for ejob in todo:
            experts[ejob.env] = prepare_expert(ejob)
            results += [run_learner(job) for job in learner_jobs(experts[ejob.env], args)]
        return experts, results
    with multiprocessing.get_context("spawn").Pool(args.workers, maxtasksperchild=8) as pool:
        waiting = {ejob.env: pool.apply_async(prepare_expert, (ejob,)) for ejob in todo}
        running: list[AsyncResult[Result]] = []
        while waiting or running:
            for env, pending in list(waiting.items()):
                if pending.ready():
                    experts[env] = pending.get()
                    running += [pool.apply_async(run_learner, (job,)) for job in learner_jobs(experts[env], args)]
                    del waiting[env]
            done = [r for r in running if r.ready()]
            results += [r.get() for r in done]
            running = [r for r in running if r not in done]
            time.sleep(0.5)
        pool.close()  # every task is done: let the workers exit rather than be terminated
        pool.join()
    return experts, results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", nargs="+", default=list(PERTURB_STEPS), choices=list(PERTURB_STEPS))
    p.add_argument("--algos", nargs="+", default=list(LABELS), choices=list(LABELS))
    p.add_argument("--episodes", nargs="+", type=int, help="demonstrated episodes per learner (default 1 5 20; "
                   "--quick 1 5)")
    p.add_argument("--seeds", type=int, help="seeds 0..S-1 per learner (default 5; --quick 1)")
    p.add_argument("--eval-episodes", type=int, help="greedy episodes per policy and start (default 30; --quick 5)")
    p.add_argument("--workers", type=int, default=2, help="parallel runs (at most 2 on the shared machine)")
    p.add_argument("--quick", action="store_true", help="tiny budgets for a smoke test; implies --no-write")
    p.add_argument("--retrain-experts", action="store_true", help="train the experts even if usable ones exist")
    p.add_argument("--expert-seed", type=int, default=0, help="training seed of the PPO experts (default 0)")
    p.add_argument("--out", type=Path, help="experts, demos, runs and results.json (default bench_out/imitation, "
                   "--quick: bench_out/imitation-quick)")
    p.add_argument("--benchmarks", type=Path, default=benchlib.BENCHMARKS, help="markdown file to update")
    p.add_argument("--plot", type=Path, default=ROOT / "docs" / "benchmark_imitation.png")
    p.add_argument("--no-write", action="store_true", help="print the section instead of writing files")
    args = p.parse_args(argv)
    args.episodes = sorted(set(args.episodes or ([1, 5] if args.quick else [1, 5, 20])))
    args.seeds = (1 if args.quick else 5) if args.seeds is None else args.seeds
    args.eval_episodes = (5 if args.quick else 30) if args.eval_episodes is None else args.eval_episodes
    args.out = (args.out or ROOT / "bench_out" / ("imitation-quick" if args.quick else "imitation")).resolve()
    args.workers = max(1, min(args.workers, 2))
    args.no_write = args.no_write or args.quick  # quick numbers never reach BENCHMARKS.md
    if min(args.episodes) < 1 or args.seeds < 1 or args.eval_episodes < 1:
        p.error("--episodes, --seeds and --eval-episodes must be at least 1")

    start = time.perf_counter()
    experts, results = run_all(args)
    wall = time.perf_counter() - start
    (args.out / "results.json").write_text(json.dumps({"experts": [asdict(e) for e in experts.values()],
                                                       "results": [asdict(r) for r in results]}, indent=1))
    plot_ref = benchlib.link(args.plot, args.benchmarks)
    text = markdown(experts, results, args, wall, plot_ref)
    print(text)
    if not args.no_write:
        plot(experts, results, args, args.plot)
        benchlib.write_section("imitation", text, args.benchmarks)
        print(f"wrote the imitation section of {args.benchmarks} and {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_cli.run(main))
