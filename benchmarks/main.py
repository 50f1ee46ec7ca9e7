#!/usr/bin/env python
"""Benchmark the main job against plain stable-baselines3, on this machine, in one run.

Measures
  1. the README's main command (PPO on CartPole-v1 + video) end to end: wall time, evaluation return;
  2. PPO on LunarLander-v3 with the shipped defaults through ``train.py``, and plain SB3 with the
     same hyperparameters and seed: evaluation return and wall time;
  3. the overhead of ``train.py`` against ``model.learn`` on the same hyperparameters and seed:
     env steps per second (learn time only), interleaved A/B repeats.
  4. raw env steps per second of the env factory against SB3's ``make_vec_env``.

``train.py`` runs as the user runs it (``python scripts/train.py ...`` in a subprocess); the
plain-SB3 reference (:func:`plain_sb3_run`) runs in a fresh process too, so both pay the same
start-up and neither inherits the other's torch state.

Writes the ``main`` section of BENCHMARKS.md.

    python -m benchmarks.main                 # everything (about 9 minutes on 2 cores); ./tasks.sh bench main
    python -m benchmarks.main --skip-lunar    # skip the LunarLander runs (the shipped defaults: gymsuite's 300k steps)
    python -m benchmarks.main --quick         # every measurement at a few thousand steps; writes nothing
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import benchlib

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
QUICK_STEPS = 2_048  # --quick: env steps per training run
EVALS = "10 evaluations of 5 episodes"  # train.py's default periodic evaluation, as the tables name it


@dataclass(frozen=True)
class Command:
    """One training job: ``train.py`` gets it as flags, the plain-SB3 reference as the config they build."""

    algo: str
    env: str
    seed: int
    timesteps: int | None = None  # None: the shipped default
    eval_episodes: int | None = None  # None: train.py's default
    hyperparams: tuple[str, ...] = ()  # key=value overrides

    def flags(self) -> list[str]:
        flags = ["--algo", self.algo, "--env", self.env, "--seed", str(self.seed)]
        if self.timesteps:
            flags += ["--timesteps", str(self.timesteps)]
        if self.eval_episodes:
            flags += ["--eval-episodes", str(self.eval_episodes)]
        return flags + (["--hyperparams", *self.hyperparams] if self.hyperparams else [])


def run_train(args: list[str], run_dir: Path) -> tuple[dict, float]:
    """Run ``scripts/train.py`` in a subprocess; return its eval.json and the wall time."""
    start = time.perf_counter()
    subprocess.run([PY, str(ROOT / "scripts" / "train.py"), *args, "--run-dir", str(run_dir), "--overwrite"],
                   check=True, cwd=ROOT, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    return json.loads((run_dir / "eval.json").read_text()), wall


def plain_sb3(command: Command, episodes: int) -> dict[str, float]:
    """:func:`plain_sb3_run` in a fresh process; adds ``wall``, the seconds including that process's start-up."""
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        result = pool.apply(plain_sb3_run, (command, episodes))
    result["wall"] = time.perf_counter() - start
    return result


def plain_sb3_run(command: Command, episodes: int) -> dict[str, float]:
    """Train with stable-baselines3 directly (``make_vec_env`` + ``model.learn``), same hyperparameters.

    Only the hyperparameters come from gymsuite (``build_config``, so that both sides read the same
    ``ppo.yml`` entry); the env, normalisation, model, training and evaluation are SB3's own.
    ``render_mode=None`` is passed to ``make_vec_env``, whose default (``"rgb_array"``) halves
    LunarLander's step rate (see :func:`env_step_rates`): the comparison measures gymsuite's
    overhead, not a rendering setting.

    Returns:
        ``mean_return``, ``std_return`` (over ``episodes`` greedy episodes), ``train_seconds``,
        ``train_fps`` (over ``learn`` only) and ``timesteps``.
    """
    import numpy as np
    import torch
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import VecNormalize

    from gymsuite.agents.algorithms import registry
    from gymsuite.agents.run.config import build_config
    from gymsuite.agents.run.resolved import model_kwargs

    torch.set_num_threads(1)
    cfg = build_config({"algo": command.algo, "env": command.env, "timesteps": command.timesteps,
                        "seed": command.seed}, overrides=list(command.hyperparams))
    spec = registry.get(cfg.algo)
    policy, kwargs = model_kwargs(spec, cfg)
    normalize = bool(cfg.hyperparams.get("normalize"))
    env = make_vec_env(cfg.env, n_envs=cfg.n_envs, seed=cfg.seed, env_kwargs={"render_mode": None})
    if normalize:
        env = VecNormalize(env, gamma=cfg.hyperparams.get("gamma", 0.99))
    model = spec.model_class(cfg.hyperparams)(policy, env, seed=cfg.seed, **kwargs)
    start = time.perf_counter()
    model.learn(cfg.timesteps)
    seconds = time.perf_counter() - start
    eval_env = make_vec_env(cfg.env, n_envs=1, seed=cfg.seed + 10_000, env_kwargs={"render_mode": None})
    if normalize:
        assert isinstance(env, VecNormalize)
        eval_env = VecNormalize(eval_env, training=False, norm_reward=False)
        eval_env.obs_rms = env.obs_rms
    returns, _ = evaluate_policy(model, eval_env, n_eval_episodes=episodes, return_episode_rewards=True)
    return {"mean_return": float(np.mean(returns)), "std_return": float(np.std(returns)),
            "train_seconds": seconds, "train_fps": model.num_timesteps / seconds, "timesteps": model.num_timesteps}


def env_step_rates(env_id: str, n_envs: int = 8, steps: int = 2000) -> dict[str, float]:
    """Raw vectorised env steps/s (random actions) for three ways of building the same envs."""
    import numpy as np
    from stable_baselines3.common.env_util import make_vec_env

    from gymsuite.envs.factory import make_env

    builders = {
        "SB3 `make_vec_env` (default render_mode='rgb_array')": lambda: make_vec_env(env_id, n_envs=n_envs, seed=0),
        "SB3 `make_vec_env(env_kwargs={'render_mode': None})`": lambda: make_vec_env(
            env_id, n_envs=n_envs, seed=0, env_kwargs={"render_mode": None}),
        "gymsuite `make_env` (with NaN guard)": lambda: make_env(env_id, n_envs=n_envs, seed=0),
    }
    rates = {}
    for name, build in builders.items():
        venv = build()
        venv.reset()
        actions = np.stack([[venv.action_space.sample() for _ in range(n_envs)] for _ in range(steps)])
        start = time.perf_counter()
        for act in actions:
            venv.step(act)
        rates[name] = n_envs * steps / (time.perf_counter() - start)
        venv.close()
    return rates


def measure(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Run every measurement; the raw numbers that :func:`markdown` lays out."""
    quick = QUICK_STEPS if args.quick else None
    episodes = 2 if args.quick else 10
    out: dict[str, Any] = {}
    # 1. The README's main command.
    demo = Command("ppo", "CartPole-v1", args.seed, quick, 2 if args.quick else None)
    out["demo"], out["demo_wall"] = run_train([*demo.flags(), "--video"], tmp / "demo")
    print(f"README command: {out['demo_wall']:.1f} s, return {out['demo']['mean_return']:.1f}", flush=True)
    # 2. LunarLander-v3 with the shipped defaults vs plain SB3 (--quick: one rollout of 16 envs x 128 steps).
    if not args.skip_lunar:
        lunar = Command("ppo", "LunarLander-v3", args.seed, quick, 2 if args.quick else None,
                        ("n_steps=128",) if args.quick else ())
        out["lunar"], out["lunar_wall"] = run_train(lunar.flags(), tmp / "lunar")
        out["lunar_noeval"], out["lunar_noeval_wall"] = run_train([*lunar.flags(), "--eval-freq", "0"],
                                                                  tmp / "lunar-noeval")
        out["lunar_plain"] = plain_sb3(lunar, episodes)
        print(f"LunarLander: train.py {out['lunar']['mean_return']:.1f}, plain SB3 "
              f"{out['lunar_plain']['mean_return']:.1f}", flush=True)
    # 3. Overhead of train.py, interleaved so that machine load hits both sides alike.
    base = Command("ppo", "CartPole-v1", args.seed, quick, 1 if args.quick else None)
    out["fps"] = {"ours": [], "ours_eval": [], "plain": []}
    for i in range(args.repeats):
        ours = run_train([*base.flags(), "--eval-freq", "0"], tmp / f"o{i}")[0]
        out["fps"]["ours"].append(ours["train_fps"])
        out["fps_steps"] = ours["timesteps"]
        out["fps"]["ours_eval"].append(run_train(base.flags(), tmp / f"e{i}")[0]["train_fps"])
        out["fps"]["plain"].append(plain_sb3(base, 1)["train_fps"])
        print(f"overhead repeat {i + 1}/{args.repeats}: " + ", ".join(f"{k} {v[-1]:.0f}"
                                                                     for k, v in out["fps"].items()), flush=True)
    # 4. Raw env stepping: what the factory costs, and SB3's rendering default.
    out["env_rates"] = {env_id: env_step_rates(env_id, steps=200 if args.quick else 2000)
                        for env_id in ("CartPole-v1", "LunarLander-v3")}
    return out


def markdown(results: dict[str, Any], repeats: int) -> str:
    """The ``main`` section of BENCHMARKS.md from :func:`measure`'s results."""
    demo, fps = results["demo"], results["fps"]
    sections = [f"## Main job (`benchmarks/main.py`)\n\nMachine: {benchlib.machine()}.",
                f"### README main command: PPO on CartPole-v1 ({_steps(demo['timesteps'])} steps) + video\n\n"
                + benchlib.table(["command", "wall time (s)", "train time (s)",
                                  f"eval mean return ({demo['episodes']} ep.)", "target"],
                                 [["`./tasks.sh demo`", f"{results['demo_wall']:.1f}", f"{demo['train_seconds']:.1f}",
                                   _returned(demo), ">= 475"]])]
    if "lunar" in results:
        ours, plain = results["lunar"], results["lunar_plain"]

        def row(trainer: str, run: dict[str, Any], wall: float, target: str) -> list[str]:
            return [trainer, f"{wall:.0f}", f"{run['train_fps']:.0f}", _returned(run), target]

        sections.append(
            f"### PPO on LunarLander-v3, shipped defaults ({_steps(ours['timesteps'])} steps)\n\n" + benchlib.table(
                ["trainer", "wall time (s)", "train steps/s", f"eval mean return ({ours['episodes']} ep.)", "target"],
                [row(f"gymsuite `train.py` ({EVALS})", ours, results["lunar_wall"], ">= 200"),
                 row("gymsuite `train.py --eval-freq 0`", results["lunar_noeval"], results["lunar_noeval_wall"],
                     ">= 200"),
                 row("plain SB3, same hyperparameters", plain, plain["wall"], "")])
            + "\n\nWall time: the whole process. Plain SB3 evaluates once, at the end; `train.py`'s default "
            "periodic evaluations (greedy episodes of up to 1,000 steps on one env) run inside its training time, "
            "and the smaller the budget the larger their share.")
    med = {k: statistics.median(v) for k, v in fps.items()}
    sections.append(
        f"### Overhead of `train.py` against `model.learn` (PPO CartPole-v1, {_steps(results['fps_steps'])} steps, "
        f"median of {repeats} interleaved runs)\n\n" + benchlib.table(
            ["trainer", "env steps/s", "ratio to plain SB3", "target"],
            [["plain SB3 `model.learn`", f"{med['plain']:.0f}", "1.00", ""],
             ["`train.py`, periodic evaluation off", f"{med['ours']:.0f}", f"{med['ours'] / med['plain']:.3f}",
              ">= 0.95"],
             [f"`train.py`, defaults ({EVALS})", f"{med['ours_eval']:.0f}",
              f"{med['ours_eval'] / med['plain']:.3f}", ""]])
        + "\n\nSteps/s counts training steps over `learn` time only; with periodic evaluation on, the "
        "evaluation episodes run inside that time, which is why the default configuration is slower.")
    rows = [[env_id, name, f"{rate:,.0f}"] for env_id, rates in results["env_rates"].items()
            for name, rate in rates.items()]
    sections.append("### Raw env steps/s, 8 envs in one process, random actions\n\n"
                    + benchlib.table(["env", "built by", "env steps/s"], rows))
    return "\n\n".join(sections)


def _returned(run: dict[str, Any]) -> str:
    """A run's evaluation as a cell: ``"244.0 ± 37.9"``."""
    return f"{run['mean_return']:.1f} ± {run['std_return']:.1f}"


def _steps(n: int) -> str:
    """A run's step count as a budget: ``1_015_808`` -> ``"1M"``, ``100_096`` -> ``"100k"``, ``2_048`` -> ``"2k"``."""
    return f"{n / 1e6:.2g}M" if n >= 1_000_000 else f"{round(n / 1e3)}k"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--skip-lunar", action="store_true")
    p.add_argument("--repeats", type=int, help="A/B repeats of the overhead measurement (default 3; --quick 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="tiny budgets to check the whole path; implies --no-write")
    p.add_argument("--benchmarks", type=Path, default=benchlib.BENCHMARKS, help="markdown file to update")
    p.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    args = p.parse_args(argv)
    args.repeats = (1 if args.quick else 3) if args.repeats is None else args.repeats
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    with tempfile.TemporaryDirectory(prefix="gymsuite-bench-") as tmp:
        results = measure(args, Path(tmp))
    text = markdown(results, args.repeats)
    print(text)
    if not (args.no_write or args.quick):  # quick numbers never reach BENCHMARKS.md
        benchlib.write_section("main", text, args.benchmarks)
        print(f"wrote the main section of {args.benchmarks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
