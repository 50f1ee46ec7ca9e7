#!/usr/bin/env python
"""Atari throughput on this machine: gymsuite's PPO on Pong against plain stable-baselines3, same run.

Both train PPO with rl-baselines3-zoo's Atari hyperparameters on ``PongNoFrameskip-v4`` (no sticky
actions), 8 envs, seed 0, the same number of steps:

* gymsuite through the pipeline of ``gymsuite train`` (:mod:`benchmarks.benchlib`), which runs the
  game on ale-py's native vector env (:mod:`gymsuite.envs.atari_vector`);
* plain SB3 as its docs show it: ``make_atari_env`` + ``VecFrameStack(4)`` (``DummyVecEnv``), in a
  fresh process, so neither inherits the other's torch state.

Reported: training steps/s of each (learn time only) and their ratio (target >= 1.3).

``--part collect`` (issue 27, item 11: what does gymsuite's pipeline add per step to the bare adapter?) times
the collection loop alone, each row in a fresh process, ``ALE/Pong-v5`` (ale-py's native vector env, 8 envs):
ale-py's ``AtariVectorEnv`` stepped with random actions; gymsuite's adapter (:mod:`gymsuite.envs.atari_vector`);
the env ``gymsuite train`` builds (adapter, reward clipping); then PPO's ``learn`` with its update skipped and a
tiny policy (``small_cnn`` with 4 channels and 16 features, so the network costs little next to the loop), plain
SB3 on the bare adapter against gymsuite's whole pipeline (its callbacks, logging, evaluation off).

    python -m benchmarks.atari --part collect   # about 2 minutes; writes the atari-collect section
    python -m benchmarks.atari            # about 3 minutes on 2 cores; writes the atari section
    python -m benchmarks.atari --quick    # one rollout each; writes nothing
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from benchmarks import benchlib

ENV = "PongNoFrameskip-v4"
ZOO_PPO = {"n_steps": 128, "n_epochs": 4, "batch_size": 256, "learning_rate": "lin_2.5e-4", "clip_range": "lin_0.1",
           "vf_coef": 0.5, "ent_coef": 0.01}  # rl-baselines3-zoo hyperparams/ppo.yml, `atari`
QUICK_STEPS = 1_024


def _lin(start: float) -> Any:
    return lambda progress: progress * start


def _pong(**kwargs: Any) -> Any:
    """The game for plain SB3, importing ale-py (which registers the id) in whichever process builds it."""
    import ale_py
    import gymnasium as gym

    gym.register_envs(ale_py)
    return gym.make(ENV, **kwargs)


def plain_sb3_run(steps: int, n_envs: int, device: str, seed: int = 0, subprocess: bool = False,
                  seconds: float | None = None, threads: int = 1) -> dict[str, Any]:
    """Plain SB3 PPO (zoo hyperparameters) on ``make_atari_env`` + ``VecFrameStack``: steps/s and mean training return.

    ``seconds``: stop after this wall time instead (``steps`` is then an upper bound).
    """
    import torch
    from stable_baselines3.common.env_util import make_atari_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecFrameStack

    torch.set_num_threads(threads)
    venv = VecFrameStack(make_atari_env(_pong, n_envs=n_envs, seed=seed,
                                        vec_env_cls=SubprocVecEnv if subprocess else DummyVecEnv), 4)
    return _plain_ppo(venv, steps, device, seed, seconds)


def _plain_ppo(venv: Any, steps: int, device: str, seed: int, seconds: float | None) -> dict[str, Any]:
    """Plain SB3 PPO with the zoo's Atari hyperparameters on ``venv`` (closed after): :meth:`WallClock.summary`."""
    from stable_baselines3 import PPO

    kwargs = {**ZOO_PPO, "learning_rate": _lin(2.5e-4), "clip_range": _lin(0.1)}
    model = PPO("CnnPolicy", venv, device=device, seed=seed, verbose=0, **kwargs)
    clock = WallClock(seconds)
    start = time.perf_counter()
    model.learn(steps, callback=clock)
    elapsed = time.perf_counter() - start
    venv.close()
    return clock.summary(int(model.num_timesteps), elapsed)


class WallClock(BaseCallback):
    """Stop training after ``seconds`` of wall time (None: never); time the rollouts apart from the updates."""

    def __init__(self, seconds: float | None) -> None:
        super().__init__()
        self.seconds, self.start = seconds, time.perf_counter()
        self.returns: list[float] = []  # the last 100 episodes' returns (SB3's ep_info_buffer) at the end
        self.collect_seconds, self._rollout_start = 0.0, 0.0  # inside collect_rollouts, summed

    def _on_training_start(self) -> None:
        self.start = time.perf_counter()

    def _on_rollout_start(self) -> None:
        self._rollout_start = time.perf_counter()

    def _on_rollout_end(self) -> None:
        self.collect_seconds += time.perf_counter() - self._rollout_start

    def _on_step(self) -> bool:
        return self.seconds is None or time.perf_counter() - self.start < self.seconds

    def _on_training_end(self) -> None:
        self.returns = [float(e["r"]) for e in self.model.ep_info_buffer or ()]

    def summary(self, steps: int, seconds: float) -> dict[str, Any]:
        """The row of a run that took ``seconds`` for ``steps``: steps/s, the collection's seconds, the returns."""
        returns = self.returns
        return {"steps": steps, "seconds": seconds, "fps": steps / max(seconds, 1e-9),
                "collect_seconds": round(self.collect_seconds, 2),
                "mean_return": float(sum(returns) / len(returns)) if returns else None, "episodes": len(returns)}


def in_fresh_process(run: Any, *args: Any, **kwargs: Any) -> Any:
    """``run(*args, **kwargs)`` in a fresh process (not a daemon: a ``SubprocVecEnv`` starts its own), so that no
    run inherits another's torch, CUDA or thread state."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(run, *args, **kwargs).result()


def plain_sb3(steps: int, n_envs: int, device: str, **kwargs: Any) -> dict[str, Any]:
    """:func:`plain_sb3_run` in a fresh process."""
    return in_fresh_process(plain_sb3_run, steps, n_envs, device, **kwargs)


def adapter_run(steps: int, n_envs: int, device: str, seed: int = 0, seconds: float | None = None,
                threads: int = 1) -> dict[str, Any]:
    """Plain SB3 PPO (zoo hyperparameters) on the env of gymsuite's Atari runs (the native adapter, reward
    clipping) without the rest of gymsuite's pipeline: SB3's own loop on the same env, the pipeline's ceiling."""
    import torch

    from gymsuite.envs.factory import make_native_atari
    from gymsuite.rewards.clipping import VecClipReward

    torch.set_num_threads(threads)
    return _plain_ppo(VecClipReward(make_native_atari(ENV, n_envs, seed)), steps, device, seed, seconds)


def gymsuite_run(steps: int, n_envs: int, device: str, run_dir: Path, seed: int = 0,
                 seconds: float | None = None, env: str = ENV, threads: int = 1) -> dict[str, Any]:
    """gymsuite's PPO (the shipped Atari defaults, which are the zoo's) through the pipeline of ``gymsuite train``."""
    cfg = benchlib.config({"algo": "ppo", "env": env, "timesteps": steps, "n_envs": n_envs, "seed": seed,
                           "eval_episodes": 1, "eval_freq": 0, "checkpoint_freq": 0, "eval_max_episode_steps": 200,
                           "threads": threads},
                          {**ZOO_PPO, "policy": "CnnPolicy", "device": device}, exact=True)
    clock = WallClock(seconds)
    result = benchlib.train(cfg, run_dir, callbacks=[clock])
    return {**clock.summary(result.steps, result.eval["train_seconds"]), "fps": result.eval["train_fps"]}


def measure(steps: int, n_envs: int, tmp: Path) -> dict[str, Any]:
    ours = gymsuite_run(steps, n_envs, "cpu", tmp / "gymsuite")
    print(json.dumps({"run": "gymsuite", **ours}), flush=True)
    plain = plain_sb3(steps, n_envs, "cpu")
    print(json.dumps({"run": "plain_sb3", **plain}), flush=True)
    return {"gymsuite": ours, "plain": plain, "steps": steps, "n_envs": n_envs, "load": _load()}


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def markdown(results: dict[str, Any]) -> str:
    ours, plain = results["gymsuite"], results["plain"]
    rows = [["gymsuite `train` (native AtariVectorEnv)", f"{ours['steps']:,}", f"{ours['seconds']:.1f}",
             f"{ours['fps']:.0f}"],
            ["plain SB3 (`make_atari_env` + `VecFrameStack`)", f"{plain['steps']:,}", f"{plain['seconds']:.1f}",
             f"{plain['fps']:.0f}"]]
    ratio = ours["fps"] / plain["fps"]
    return "\n\n".join([
        "## Atari throughput on this machine (`python -m benchmarks.atari`)",
        f"PPO with rl-baselines3-zoo's Atari hyperparameters on {ENV}, {results['n_envs']} envs, seed 0, cpu, "
        f"torch 1 thread; learn time only. Machine: {benchlib.machine()}; load average before: {results['load']}.",
        benchlib.table(["run", "steps", "seconds", "steps/s"], rows),
        f"Steps/s ratio gymsuite / plain SB3: **{ratio:.2f}** (target >= 1.3).",
    ])


COLLECT_ENV = "ALE/Pong-v5"
TINY = {"backbone": "small_cnn", "backbone_kwargs": {"channels": [4, 4], "features_dim": 16}}


class NoUpdate(BaseCallback):
    """Skip PPO's gradient update (``train()``), so that ``learn`` times the collection loop alone; :attr:`rate`:
    env steps/s from the end of the first rollout (the games' first reset and the first forward passes excluded)."""

    def __init__(self) -> None:
        super().__init__()
        self.first: tuple[int, float] | None = None
        self.rate = float("nan")

    def _on_training_start(self) -> None:
        self.model.train = lambda: None  # type: ignore[attr-defined]

    def _on_rollout_end(self) -> None:
        now = (self.num_timesteps, time.perf_counter())
        if self.first is None:
            self.first = now
        else:
            self.rate = (now[0] - self.first[0]) / (now[1] - self.first[1])

    def _on_step(self) -> bool:
        return True


def _random_steps(venv: Any, steps: int, gymnasium_api: bool = False) -> float:
    """Env steps/s of ``venv`` (N envs) under random actions, ``steps`` vector steps after 50 of warm-up."""
    rng = np.random.default_rng(0)
    n = venv.num_envs
    actions = rng.integers(0, 6, size=(steps + 50, n))
    for i in range(steps + 50):
        if i == 50:
            start = time.perf_counter()
        if gymnasium_api:
            venv.step(actions[i])
        else:
            venv.step_async(actions[i])
            venv.step_wait()
    return steps * n / (time.perf_counter() - start)


def collect_row(row: str, steps: int, n_envs: int) -> float:
    """Env steps/s of one row of the collection table, measured in this (fresh) process."""
    import torch
    from stable_baselines3 import PPO

    from gymsuite.agents.run.training import prepare
    from gymsuite.envs.atari import AtariOptions
    from gymsuite.envs.atari_vector import NativeAtariVecEnv
    from gymsuite.supervised.cnns import SmallCnn

    torch.set_num_threads(1)
    hyper = {**ZOO_PPO, "policy": "CnnPolicy", "device": "cpu", **TINY}
    cfg = benchlib.config({"algo": "ppo", "env": COLLECT_ENV, "timesteps": steps, "n_envs": n_envs, "seed": 0,
                           "eval_freq": 0, "checkpoint_freq": 0, "eval_episodes": 1, "threads": 1}, hyper, exact=True)
    if row == "ale-py AtariVectorEnv":
        adapter = NativeAtariVecEnv(COLLECT_ENV, n_envs, AtariOptions())
        adapter.venv.reset(seed=0)
        return _random_steps(adapter.venv, steps // n_envs, gymnasium_api=True)
    if row == "gymsuite's adapter":
        adapter = NativeAtariVecEnv(COLLECT_ENV, n_envs, AtariOptions())
        adapter.reset()
        return _random_steps(adapter, steps // n_envs)
    if row == "the training env of gymsuite train":
        venv = prepare(cfg).venv
        venv.reset()
        return _random_steps(venv, steps // n_envs)
    if row == "plain SB3 PPO on the adapter, update skipped":
        adapter = NativeAtariVecEnv(COLLECT_ENV, n_envs, AtariOptions())
        kwargs = {**ZOO_PPO, "learning_rate": _lin(2.5e-4), "clip_range": _lin(0.1)}
        model = PPO("CnnPolicy", adapter, device="cpu", seed=0, verbose=0, **kwargs,
                    policy_kwargs={"features_extractor_class": SmallCnn,
                                   "features_extractor_kwargs": TINY["backbone_kwargs"]})
        clock = NoUpdate()
        model.learn(steps, callback=clock)
        return clock.rate
    clock = NoUpdate()
    with tempfile.TemporaryDirectory() as tmp:  # gymsuite's pipeline, update skipped
        benchlib.train(cfg, Path(tmp) / "run", callbacks=[clock])
    return clock.rate


COLLECT_ROWS = ("ale-py AtariVectorEnv", "gymsuite's adapter", "the training env of gymsuite train",
                "plain SB3 PPO on the adapter, update skipped", "gymsuite train's pipeline, update skipped")


def measure_collect(steps: int, n_envs: int, repeats: int) -> dict[str, list[float]]:
    """Each row ``repeats`` times, the rows interleaved, each measurement in a fresh process."""
    rates: dict[str, list[float]] = {row: [] for row in COLLECT_ROWS}
    for _ in range(repeats):
        for row in COLLECT_ROWS:
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                rates[row].append(pool.submit(collect_row, row, steps, n_envs).result())
            print(json.dumps({"row": row, "steps_per_s": rates[row][-1]}), flush=True)
    return rates


def collect_markdown(rates: dict[str, list[float]], steps: int, n_envs: int, seconds: float) -> str:
    median = {row: float(np.median(values)) for row, values in rates.items()}
    bare = median[COLLECT_ROWS[0]]
    rows = [[row, f"{median[row]:,.0f}", f"{1e6 / median[row]:.0f}", f"{1e6 / median[row] - 1e6 / bare:+.0f}",
             ", ".join(f"{v:,.0f}" for v in rates[row])] for row in COLLECT_ROWS]
    plain, ours = median[COLLECT_ROWS[3]], median[COLLECT_ROWS[4]]
    return "\n\n".join([
        "## Atari: the collection loop alone (`python -m benchmarks.atari --part collect`)",
        f"{COLLECT_ENV} on ale-py's native vector env, {n_envs} envs, {steps:,} env steps per measurement, each in a "
        f"fresh process, rows interleaved, median of {len(rates[COLLECT_ROWS[0]])}; torch 1 thread. The policy rows "
        f"run PPO's `learn` with its update skipped and a tiny policy (`small_cnn`, 4 channels, 16 features), so "
        f"they time the loop, not a network, from the end of the first rollout. Machine: {benchlib.machine()}. "
        f"Wall time {seconds / 60:.1f} min.",
        benchlib.table(["what runs", "env steps/s", "µs per env step", "µs over the bare env", "each measurement"],
                       rows),
        f"gymsuite's pipeline against plain SB3 on the same adapter, update skipped: **{ours / plain:.2f}x** the "
        f"steps/s ({1e6 / ours - 1e6 / plain:+.0f} µs per env step). The env layers gymsuite puts around the game "
        f"(the adapter, reward clipping) cost {1e6 / median[COLLECT_ROWS[2]] - 1e6 / bare:+.0f} µs per env step; "
        f"PPO's loop around the env (the policy's forward pass, the rollout buffer, SB3's bookkeeping) costs "
        f"{1e6 / plain - 1e6 / median[COLLECT_ROWS[1]]:.0f} µs in plain SB3 and "
        f"{1e6 / ours - 1e6 / median[COLLECT_ROWS[2]]:.0f} µs in gymsuite's pipeline. So what separates a training "
        f"run from the bare env is that loop and the update, which plain SB3 pays alike, not gymsuite's pipeline.",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=16_384, help="training steps of each run")
    p.add_argument("--n-envs", type=int, default=8)
    p.add_argument("--quick", action="store_true", help="one rollout each; implies --no-write")
    p.add_argument("--benchmarks", type=Path, default=benchlib.BENCHMARKS, help="markdown file to update")
    p.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    p.add_argument("--part", choices=("throughput", "collect"), default="throughput",
                   help="throughput: gymsuite against plain SB3, training; collect: the collection loop alone")
    p.add_argument("--repeats", type=int, default=3, help="--part collect: measurements per row")
    args = p.parse_args(argv)
    steps = QUICK_STEPS if args.quick else args.steps
    if args.part == "collect":
        start = time.perf_counter()
        rates = measure_collect(steps * 2, args.n_envs, 1 if args.quick else args.repeats)
        text = collect_markdown(rates, steps * 2, args.n_envs, time.perf_counter() - start)
        print(text)
        if not (args.no_write or args.quick):
            benchlib.write_section("atari-collect", text, args.benchmarks)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        results = measure(steps, args.n_envs, Path(tmp))
    text = markdown(results)
    print(text)
    if not (args.no_write or args.quick):
        benchlib.write_section("atari", text, args.benchmarks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
