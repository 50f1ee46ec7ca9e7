#!/usr/bin/env python
"""Atari on one GPU machine: plain SB3 PPO against gymsuite's PPO on Pong, steps/s and return after the same wall time.

Runs of the same wall time each (``--seconds``, default 90 s of learning), rl-baselines3-zoo's Atari PPO
hyperparameters, seed 0, on cuda (cpu where there is none), each in a fresh process:

* plain SB3 as ``shared/anchors/atari_gpu.py`` runs it: ``make_atari_env("PongNoFrameskip-v4")`` in a
  ``SubprocVecEnv`` of 8 + ``VecFrameStack(4)``: the reference;
* plain SB3's PPO on the env of gymsuite's Atari runs (ale-py's native vector env of 16 behind gymsuite's
  adapter, reward clipping), without the rest of the pipeline: what SB3's own loop does with that env;
* gymsuite through the pipeline of ``gymsuite train`` (``--hyperparams device=cuda``), 16 envs, and again with
  each of ``--more-envs`` (default 32).

Each row also gives the share of its time spent collecting rollouts (the rest is PPO's update). Prints one
JSON line per run and writes a markdown table to ``--out``. Finishes in about 7 minutes on one H100 with 16
cores (four 90 s runs, start-up, a 1-episode evaluation per gymsuite run).

    python3 -m benchmarks.atari_gpu --out atari_gpu.md            # from the repository root
    python3 -m benchmarks.atari_gpu --quick --out /tmp/q.md       # seconds, on cpu too
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

NEEDED = ("gymnasium", "stable_baselines3", "ale_py", "cv2", "yaml", "tqdm", "torch")


def require_packages() -> None:
    """Stop with one line naming what is missing (the script runs outside the project's venv)."""
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        sys.exit(f"atari_gpu: missing packages {', '.join(missing)}: pip install gymnasium stable-baselines3 ale-py "
                 "opencv-python-headless pyyaml tqdm torch")


REFERENCE, ADAPTER = "plain SB3, SubprocVecEnv 8", "plain SB3 on gymsuite's env, native 16"


def ours(n_envs: int) -> str:
    return f"gymsuite, native AtariVectorEnv {n_envs}"


def measure(seconds: float, steps: int, device: str, tmp: Path, more_envs: list[int]) -> dict[str, dict[str, Any]]:
    """Each run in a fresh process, one after the other: the reference, SB3's own loop on gymsuite's env (what
    the pipeline around it costs), gymsuite's pipeline with 16 envs, then with each of ``more_envs``."""
    from benchmarks.atari import adapter_run, gymsuite_run, in_fresh_process, plain_sb3_run

    cpus = os.cpu_count() or 1
    runs: dict[str, Any] = {
        REFERENCE: lambda: in_fresh_process(plain_sb3_run, steps, 8, device, subprocess=True, seconds=seconds,
                                            threads=cpus),
        ADAPTER: lambda: in_fresh_process(adapter_run, steps, 16, device, seconds=seconds, threads=cpus)}
    for n in [16, *more_envs]:
        runs[ours(n)] = lambda n=n: in_fresh_process(gymsuite_run, steps, n, device, tmp / f"gymsuite{n}",
                                                      seconds=seconds, threads=cpus)
    results = {}
    for name, run in runs.items():
        results[name] = run()
        print(json.dumps({"run": name, "device": device, **results[name]}), flush=True)
    return results


def markdown(results: dict[str, dict[str, Any]], machine: str, seconds: float) -> str:
    def row(name: str, r: dict[str, Any]) -> str:
        ret = "n/a" if r["mean_return"] is None else f"{r['mean_return']:.2f} ({r['episodes']} episodes)"
        return (f"| {name} | {r['steps']:,} | {r['seconds']:.0f} | {r['fps']:.0f} | "
                f"{100 * r['collect_seconds'] / r['seconds']:.0f}% | {ret} |")

    reference, adapter, main = results[REFERENCE]["fps"], results[ADAPTER]["fps"], results[ours(16)]["fps"]
    more = [f"with {name.rsplit(' ', 1)[1]} envs {r['fps'] / reference:.2f}" for name, r in results.items()
            if name not in (REFERENCE, ADAPTER, ours(16))]
    return "\n".join([
        f"Pong, PPO with the zoo's Atari hyperparameters, {seconds:.0f} s of learning each. Machine: {machine}.", "",
        "| run | steps | seconds | steps/s | time collecting | mean training return (last 100 episodes) |",
        "|---|---|---|---|---|---|", *(row(name, r) for name, r in results.items()), "",
        f"Steps/s ratio gymsuite (16 envs) / plain SB3: **{main / reference:.2f}** (target >= 2.0)"
        + (f"; {', '.join(more)}." if more else "."),
        f"gymsuite's pipeline against SB3's own loop on the same env: {main / adapter:.2f}x the steps/s.",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=90.0, help="wall time of learning of each run")
    p.add_argument("--out", type=Path, required=True, help="markdown file to write")
    p.add_argument("--quick", action="store_true", help="a few seconds each, to check the path")
    p.add_argument("--more-envs", type=int, nargs="*", default=[32], help="gymsuite's run again with these env counts")
    args = p.parse_args(argv)
    require_packages()
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    gpu = torch.cuda.get_device_name(0) if device == "cuda" else "no GPU"
    machine = f"{gpu}, {os.cpu_count()} CPU cores, torch {torch.__version__}"
    print(json.dumps({"device": device, "machine": machine}), flush=True)
    seconds, steps = (3.0, 2_048) if args.quick else (args.seconds, 50_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        results = measure(seconds, steps, device, Path(tmp), args.more_envs)
    text = markdown(results, machine, seconds)
    args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
