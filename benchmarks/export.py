#!/usr/bin/env python
"""Benchmark ``gymsuite export``: parity of every backbone's exported file with its Python policy, and latency.

For each backbone a small agent is trained (parity needs a policy, not a good one) and exported through
``gymsuite.export`` to ONNX (float, then int8) and TorchScript; the table gives the exporter used (``dynamo``:
torch's default; ``legacy``: its TorchScript-based fallback), greedy-action agreement with the Python policy on
N on-policy states, the largest absolute difference of the logits (log-probabilities; the Gaussian's mean for
Pendulum; Q-values for DQN), latency per call at batch 1 and 64 in torch (eager, the same module) and in the
file's runtime (onnxruntime or TorchScript), one thread each, and the file's size. Target: 100% agreement for
every float export; onnxruntime faster than torch at batch 1.

    python -m benchmarks.export            # full run, about 4 min on 2 cores
    python -m benchmarks.export --quick    # 64-step agents, 8 states; writes nothing
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch as th

from benchmarks import benchlib

TINY = {"n_steps": 64, "batch_size": 64, "n_epochs": 2}
PIXELS = {"pixels": {"height": 48, "width": 72, "stack": 2}}
# backbone -> (algo, env, hyperparameters)
AGENTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "mlp": ("ppo", "CartPole-v1", TINY),
    "mlp (dqn)": ("dqn", "CartPole-v1", {"learning_starts": 64, "buffer_size": 5000, "batch_size": 32}),
    "mlp + VecNormalize (Box)": ("ppo", "Pendulum-v1", {**TINY, "normalize": True}),
    "nature_cnn": ("ppo", "gymsuite/PixelCartPole-v0", {**TINY, "backbone": "nature_cnn"}),
    "small_cnn": ("ppo", "CartPole-v1", {**TINY, **PIXELS, "backbone": "small_cnn"}),
    "impala_cnn": ("ppo", "CartPole-v1", {**TINY, **PIXELS, "backbone": "impala_cnn"}),
    "attention": ("ppo", "CartPole-v1", {**TINY, **PIXELS, "backbone": "attention"}),
    "framestack": ("ppo", "CartPole-v1", {**TINY, "backbone": "framestack", "backbone_kwargs": {"context": 4}}),
    "transformer": ("ppo", "CartPole-v1", {**TINY, "backbone": "transformer", "backbone_kwargs": {"context": 8}}),
    "lstm": ("ppo", "CartPole-v1", {**TINY, "backbone": "lstm"}),
}
EXPORTS = (("onnx", False), ("onnx", True), ("torchscript", False))
FULL = {"train_steps": 2048, "states": 500}
QUICK = {"train_steps": 64, "states": 8}


def export_rows(root: Path, name: str, steps: int, states: int) -> list[list[str]]:
    """Train the agent ``name`` for ``steps`` and export it every way of :data:`EXPORTS`: one row each."""
    import gymsuite

    algo, env, hyper = AGENTS[name]
    cfg = benchlib.config({"algo": algo, "env": env, "seed": 0, "timesteps": steps, "n_envs": 1, "eval_freq": 0,
                           "eval_episodes": 1, "checkpoint_freq": 0}, hyper)
    run = root / name.replace(" ", "_").replace("(", "").replace(")", "").replace("+", "")
    benchlib.train(cfg, run)
    rows = []
    for fmt, int8 in EXPORTS:
        out = run / f"policy{'.int8' if int8 else ''}{'.onnx' if fmt == 'onnx' else '.pt'}"
        r = gymsuite.export(run, fmt, int8=int8, states=states, out=out)
        runtime = "onnxruntime" if fmt == "onnx" else "torchscript"
        lat = r["latency_s"]
        rows.append([name, fmt + (" int8" if int8 else ""), r["exporter"], f"{r['on_policy']['agreement']:.1%}",
                     f"{r['on_policy']['max_abs_diff']:.1e}",
                     *[f"{lat[side][b] * 1e6:,.0f}" for side in ("torch", runtime) for b in ("1", "64")],
                     f"{r['bytes'] / 1024:,.0f}"])
        print(f"export {name} {fmt} int8={int8}: {r['exporter']} {r['on_policy']} {lat}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for key in FULL:
        p.add_argument(f"--{key.replace('_', '-')}", type=int, help=f"default {FULL[key]:,} (--quick {QUICK[key]:,})")
    p.add_argument("--backbones", nargs="+", default=list(AGENTS), choices=list(AGENTS))
    benchlib.add_run_options(p)
    args = p.parse_args(argv)
    benchlib.fill_budget(args, FULL, QUICK)
    th.set_num_threads(1)
    start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="gymsuite-bench-export-") as tmp:
        for name in args.backbones:
            rows.extend(export_rows(Path(tmp), name, args.train_steps, args.states))
    header = ["backbone", "format", "exporter", "agreement", "max logit diff", "torch us, batch 1",
              "torch us, batch 64", "runtime us, batch 1", "runtime us, batch 64", "file KiB"]
    text = (f"## Export parity (`benchmarks/export.py`)\n\nMachine: {benchlib.machine()}. Wall time "
            f"{(time.perf_counter() - start) / 60:.1f} min. Agents trained {args.train_steps:,} steps; agreement "
            f"and the largest logit difference over {args.states} on-policy states (the exported file on the env's "
            "raw observation, the Python policy on SB3's wrapped one); latency in microseconds per call, one "
            "thread, torch eager against the file's runtime (onnxruntime for onnx, TorchScript for torchscript). "
            "Target: 100% agreement for every float export.\n\n" + benchlib.table(header, rows))
    benchlib.publish("export", text, args.benchmarks, not (args.no_write or args.quick))
    return text


if __name__ == "__main__":
    main()
    sys.exit(0)
