#!/usr/bin/env python
"""Atari on one GPU machine: plain SB3 PPO against gymsuite's PPO on Pong, steps/s and return after the same wall time.

Two runs, each for the same wall time (default 150 s of learning), rl-baselines3-zoo's Atari
PPO hyperparameters, seed 0, on cuda (cpu where there is none):

* plain SB3 as ``shared/anchors/atari_gpu.py`` runs it: ``make_atari_env("PongNoFrameskip-v4")`` in a
  ``SubprocVecEnv`` of 8 + ``VecFrameStack(4)``, in a fresh process;
* gymsuite through the pipeline of ``gymsuite train`` (``--hyperparams device=cuda``): ale-py's
  native vector env, 16 envs.

Prints one JSON line per run and writes a markdown table to ``--out``. Finishes in about 6 minutes
on one H100 with 16 cores (two 150 s runs, start-up, a 1-episode evaluation).

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


def measure(seconds: float, steps: int, device: str, tmp: Path) -> dict[str, Any]:
    from benchmarks.atari import gymsuite_run, plain_sb3

    cpus = os.cpu_count() or 1
    plain = plain_sb3(steps, 8, device, subprocess=True, seconds=seconds, threads=cpus)
    print(json.dumps({"run": "plain_sb3", "envs": "SubprocVecEnv 8", "device": device, **plain}), flush=True)
    ours = gymsuite_run(steps, 16, device, tmp / "gymsuite", seconds=seconds, threads=cpus)
    print(json.dumps({"run": "gymsuite", "envs": "native 16", "device": device, **ours}), flush=True)
    return {"plain": plain, "gymsuite": ours}


def markdown(results: dict[str, Any], machine: str, seconds: float) -> str:
    def row(name: str, r: dict[str, Any]) -> str:
        ret = "n/a" if r["mean_return"] is None else f"{r['mean_return']:.2f} ({r['episodes']} episodes)"
        return f"| {name} | {r['steps']:,} | {r['seconds']:.0f} | {r['fps']:.0f} | {ret} |"

    ratio = results["gymsuite"]["fps"] / results["plain"]["fps"]
    return "\n".join([
        f"Pong, PPO with the zoo's Atari hyperparameters, {seconds:.0f} s of learning each. Machine: {machine}.", "",
        "| run | steps | seconds | steps/s | mean training return (last 100 episodes) |", "|---|---|---|---|---|",
        row("plain SB3, SubprocVecEnv 8", results["plain"]),
        row("gymsuite, native AtariVectorEnv 16", results["gymsuite"]), "",
        f"Steps/s ratio gymsuite / plain SB3: **{ratio:.2f}** (target >= 2.0).",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=150.0, help="wall time of learning of each run")
    p.add_argument("--out", type=Path, required=True, help="markdown file to write")
    p.add_argument("--quick", action="store_true", help="a few seconds each, to check the path")
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
        results = measure(seconds, steps, device, Path(tmp))
    text = markdown(results, machine, seconds)
    args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
