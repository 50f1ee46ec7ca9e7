#!/usr/bin/env python
"""Benchmark the main job against plain stable-baselines3, on this machine, in one run.

Measures
  1. the README's main command (PPO on CartPole-v1 + video) end to end: wall time, evaluation return;
  2. PPO on LunarLander-v3 with the shipped defaults through ``train.py``, and plain SB3 with the
     same hyperparameters and seed: evaluation return and wall time;
  3. the overhead of ``train.py`` against ``model.learn`` on the same hyperparameters and seed:
     env steps per second (learn time only), interleaved A/B repeats.

Writes the ``main`` section of BENCHMARKS.md.

    python scripts/benchmark_main.py                 # everything (about 15 minutes on 2 cores)
    python scripts/benchmark_main.py --skip-lunar    # skip the 1M-step LunarLander runs
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    import _cli  # noqa: F401  (puts the project root on sys.path)
from benchmarks import benchlib

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def run_train(args: list[str], run_dir: Path) -> tuple[dict, float]:
    """Run ``scripts/train.py`` in a subprocess; return its eval.json and the wall time."""
    start = time.perf_counter()
    subprocess.run([PY, str(ROOT / "scripts" / "train.py"), *args, "--run-dir", str(run_dir), "--overwrite"],
                   check=True, cwd=ROOT, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    return json.loads((run_dir / "eval.json").read_text()), wall


def plain_sb3(algo: str, env_id: str, timesteps: int | None, seed: int, episodes: int) -> dict:
    """Train with stable-baselines3 directly (``make_vec_env`` + ``model.learn``), same hyperparameters.

    ``render_mode=None`` is passed to ``make_vec_env``, whose default (``"rgb_array"``) halves
    LunarLander's step rate (see :func:`env_step_rates`): the comparison measures gymsuite's
    overhead, not a rendering setting.
    """
    code = f"""
import json, time, torch
torch.set_num_threads(1)
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecNormalize
from agents.algorithms import registry
from agents.pipeline.config import build_config, model_kwargs
cfg = build_config({{"algo": {algo!r}, "env": {env_id!r}, "timesteps": {timesteps!r}, "seed": {seed}}})
spec = registry.get(cfg.algo)
policy, kwargs = model_kwargs(spec, cfg)
env = make_vec_env({env_id!r}, n_envs=cfg.n_envs, seed={seed}, env_kwargs={{"render_mode": None}})
if cfg.hyperparams.get("normalize"):
    env = VecNormalize(env, gamma=cfg.hyperparams.get("gamma", 0.99))
model = spec.cls(policy, env, seed={seed}, **kwargs)
start = time.perf_counter()
model.learn(cfg.timesteps)
seconds = time.perf_counter() - start
eval_env = make_vec_env({env_id!r}, n_envs=1, seed={seed} + 10_000, env_kwargs={{"render_mode": None}})
if cfg.hyperparams.get("normalize"):
    eval_env = VecNormalize(eval_env, training=False, norm_reward=False)
    eval_env.obs_rms = env.obs_rms
returns, _ = evaluate_policy(model, eval_env, n_eval_episodes={episodes}, return_episode_rewards=True)
import numpy as np
print(json.dumps({{"mean_return": float(np.mean(returns)), "std_return": float(np.std(returns)),
                  "train_seconds": seconds, "train_fps": model.num_timesteps / seconds,
                  "timesteps": model.num_timesteps}}))
"""
    start = time.perf_counter()
    out = subprocess.run([PY, "-c", code], check=True, cwd=ROOT, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - start
    return result


def env_step_rates(env_id: str, n_envs: int = 8, steps: int = 2000) -> dict[str, float]:
    """Raw vectorised env steps/s (random actions) for three ways of building the same envs."""
    import numpy as np
    from stable_baselines3.common.env_util import make_vec_env

    from envs import make_env

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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--skip-lunar", action="store_true")
    p.add_argument("--repeats", type=int, default=3, help="A/B repeats of the overhead measurement")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="gymsuite-bench-"))
    sections: list[str] = [f"## Main job (`scripts/benchmark_main.py`)\n\nMachine: {benchlib.machine()}."]

    # 1. The README's main command.
    demo, wall = run_train(["--algo", "ppo", "--env", "CartPole-v1", "--seed", str(args.seed), "--video"],
                           tmp / "demo")
    sections.append("### README main command: PPO on CartPole-v1 (100k steps) + video\n\n" + benchlib.table(
        ["command", "wall time (s)", "train time (s)", "eval mean return (10 ep.)", "target"],
        [["`./tasks.sh demo`", f"{wall:.1f}", f"{demo['train_seconds']:.1f}",
          f"{demo['mean_return']:.1f} ± {demo['std_return']:.1f}", ">= 475"]]))
    print(sections[-1], flush=True)

    # 2. LunarLander-v3 with the shipped defaults vs plain SB3.
    if not args.skip_lunar:
        ours, ours_wall = run_train(["--algo", "ppo", "--env", "LunarLander-v3", "--seed", str(args.seed)],
                                    tmp / "lunar")
        plain = plain_sb3("ppo", "LunarLander-v3", None, args.seed, 10)
        sections.append("### PPO on LunarLander-v3, shipped defaults (1M steps)\n\n" + benchlib.table(
            ["trainer", "wall time (s)", "train steps/s", "eval mean return (10 ep.)", "target"],
            [["gymsuite `train.py`", f"{ours_wall:.0f}", f"{ours['train_fps']:.0f}",
              f"{ours['mean_return']:.1f} ± {ours['std_return']:.1f}", ">= 200"],
             ["plain SB3, same hyperparameters", f"{plain['wall']:.0f}", f"{plain['train_fps']:.0f}",
              f"{plain['mean_return']:.1f} ± {plain['std_return']:.1f}", ""]]))
        print(sections[-1], flush=True)

    # 3. Overhead of train.py, interleaved so that machine load hits both sides alike.
    ours_fps, ours_eval_fps, plain_fps = [], [], []
    for i in range(args.repeats):
        base = ["--algo", "ppo", "--env", "CartPole-v1", "--seed", str(args.seed)]
        ours_fps.append(run_train([*base, "--eval-freq", "0"], tmp / f"o{i}")[0]["train_fps"])
        ours_eval_fps.append(run_train(base, tmp / f"e{i}")[0]["train_fps"])
        plain_fps.append(plain_sb3("ppo", "CartPole-v1", None, args.seed, 1)["train_fps"])
    med = statistics.median
    sections.append(
        "### Overhead of `train.py` against `model.learn` (PPO CartPole-v1, 100k steps, "
        f"median of {args.repeats} interleaved runs)\n\n" + benchlib.table(
            ["trainer", "env steps/s", "ratio to plain SB3", "target"],
            [["plain SB3 `model.learn`", f"{med(plain_fps):.0f}", "1.00", ""],
             ["`train.py`, periodic evaluation off", f"{med(ours_fps):.0f}",
              f"{med(ours_fps) / med(plain_fps):.3f}", ">= 0.95"],
             ["`train.py`, defaults (10 evaluations of 5 episodes)", f"{med(ours_eval_fps):.0f}",
              f"{med(ours_eval_fps) / med(plain_fps):.3f}", ""]])
        + "\n\nSteps/s counts training steps over `learn` time only; with periodic evaluation on, the "
        "evaluation episodes run inside that time, which is why the default configuration is slower.")
    print(sections[-1], flush=True)

    # 4. Raw env stepping: what the factory costs, and SB3's rendering default.
    rows = []
    for env_id in ("CartPole-v1", "LunarLander-v3"):
        rows += [[env_id, name, f"{rate:,.0f}"] for name, rate in env_step_rates(env_id).items()]
    sections.append("### Raw env steps/s, 8 envs in one process, random actions\n\n"
                    + benchlib.table(["env", "built by", "env steps/s"], rows))
    print(sections[-1], flush=True)
    benchlib.write_section("main", "\n\n".join(sections))
    print(f"wrote {benchlib.BENCHMARKS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
