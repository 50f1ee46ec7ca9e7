#!/usr/bin/env python
"""Benchmark ``gymsuite explain``: seconds per frame of each attribution method, and the randomisation test.

Two sections, on 84x84 images:
  * speed: seconds per frame of each method (grad, smoothgrad, ig, occlusion, perturb; attention on the attention
    backbone) for an SB3 actor-critic policy with a ``nature_cnn`` or ``small_cnn`` backbone on 4 stacked grey
    84x84 frames (an Atari agent's input), at 1 and 2 torch threads; the explained scalar is the log-probability
    of the greedy action, as ``gymsuite explain`` computes it (``agents/saved/explaining.scalar``), frames
    8 at a time as it does. Target: perturbation saliency at most 0.3 s per frame on 2 cores (Greydanus et al.'s
    blurred patches, 289 of them per frame, batched here; a reference batched implementation took 0.52 s on one
    thread). The weights do not change the cost: the networks are freshly initialised.
  * sanity: a PPO agent trained on pixel CartPole at 84x84 (``small_cnn``) is explained by each method through
    ``gymsuite.explain``; each map's rank correlation with the maps of the network with its output layer, then
    all of it, re-initialised (Adebayo et al. 2018: above 0.9 after full randomisation the map is reported
    untrustworthy), and the deletion score. A control row, an edge detector's map of the input (no network at
    all), must fail the test.

    python -m benchmarks.explain            # full run, about 5 min on 2 cores (10 at most)
    python -m benchmarks.explain --quick    # 1 frame per timing, a 1,024-step agent; writes nothing
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy

from benchmarks import benchlib
from gymsuite.agents.saved.explaining import forget_distribution, scalar
from gymsuite.supervised import attribution
from gymsuite.supervised.backbones import get

GRADIENT_AND_PERTURBATION = ["grad", "smoothgrad", "ig", "occlusion", "perturb"]
BACKBONES = ["nature_cnn", "small_cnn"]
THREADS = [1, 2]
SHAPE = (4, 84, 84)  # 4 stacked grey frames, channels first as the model sees them
ACTIONS = 6
TARGET_PERTURB = 0.3  # seconds per frame on 2 cores
BATCH = 8  # frames per call, as gymsuite explain computes an image agent's maps
ENV = "gymsuite/PixelCartPole-v0"
ENV_KWARGS = {"height": 84, "width": 84}
PPO = {"policy": "CnnPolicy", "n_steps": 64, "batch_size": 256, "n_epochs": 4, "learning_rate": "lin_0.001",
       "gamma": 0.98, "gae_lambda": 0.9, "ent_coef": 0.0, "clip_range": 0.2, "normalize": False,
       "backbone": "small_cnn", "policy_kwargs": {"net_arch": [64]}, "env_kwargs": ENV_KWARGS}
FULL = {"frames": 16, "train_steps": 60_000, "states": 32}
QUICK = {"frames": 1, "train_steps": 1024, "states": 4}


def policy_for(backbone: str) -> ActorCriticPolicy:
    """A fresh SB3 actor-critic policy with ``backbone`` on :data:`SHAPE` uint8 images, in eval mode."""
    space = spaces.Box(0, 255, SHAPE, np.uint8)
    policy = ActorCriticPolicy(space, spaces.Discrete(ACTIONS), lambda _: 0.0, net_arch=[64],
                               features_extractor_class=get(backbone))
    policy.set_training_mode(False)
    return policy


def seconds_per_frame(policy: ActorCriticPolicy, method: str, frames: int) -> float:
    """Wall seconds per frame of ``method`` on ``frames`` random frames, :data:`BATCH` at a time."""
    gen = th.Generator().manual_seed(0)
    x = th.randint(0, 256, (frames, *SHAPE), generator=gen).float()
    with th.no_grad():
        actions = policy.get_distribution(x).mode()
    forget_distribution(policy)
    baseline = x.mean(dim=0)
    start = time.perf_counter()
    for i in range(0, frames, BATCH):
        if method == "attention":
            attribution.attention_map(policy.features_extractor, x[i:i + BATCH] / 255)  # type: ignore[arg-type]
        else:
            attribution.attribute(scalar(policy, "action"), x[i:i + BATCH], method, baseline=baseline,
                                  args=(actions[i:i + BATCH],))
            forget_distribution(policy)
    return (time.perf_counter() - start) / frames


def section_speed(frames: int, backbones: list[str], threads: list[int]) -> str:
    rows = []
    for backbone in [*backbones, "attention"]:
        policy = policy_for(backbone)
        methods = ["attention"] if backbone == "attention" else GRADIENT_AND_PERTURBATION
        for method in methods:
            cells = []
            for t in threads:
                th.set_num_threads(t)
                seconds_per_frame(policy, method, 1)  # warm-up (first-call allocations)
                cells.append(seconds_per_frame(policy, method, frames))
            met = "" if method != "perturb" else (" (meets)" if min(cells) <= TARGET_PERTURB else " (misses)")
            rows.append([backbone, method, *[f"{c:.3f}" for c in cells], met.strip(" ()") or "-"])
            print(f"speed {backbone} {method}: {cells}", flush=True)
    header = ["backbone", "method", *[f"s/frame, {t} thread{'s' if t > 1 else ''}" for t in threads],
              f"perturb <= {TARGET_PERTURB} s"]
    return (f"### Seconds per frame (84x84, {SHAPE[0]} stacked frames, {frames} frames per timing, {BATCH} per "
            "call)\n\n" + benchlib.table(header, rows))


def edge_map(policy: Any, x: th.Tensor) -> th.Tensor:
    """An edge detector's map of the input ``(B, C, H, W)``: |horizontal| + |vertical| differences (no network)."""
    dx = (x - x.roll(1, dims=3)).abs()
    dy = (x - x.roll(1, dims=2)).abs()
    return dx + dy


def section_sanity(root: Path, steps: int, states: int) -> str:
    """Train the pixel CartPole agent, explain it by every method, and the edge detector's control row."""
    import gymsuite
    from gymsuite.agents.saved.loading import load_agent, make_agent_env
    from gymsuite.agents.saved.onpolicy import collect_states

    cfg = benchlib.config({"algo": "ppo", "env": ENV, "seed": 0, "timesteps": steps, "n_envs": 8, "eval_freq": 0,
                           "eval_episodes": 5, "checkpoint_freq": 0}, PPO)
    run = root / "pixel-cartpole"
    trained = benchlib.train(cfg, run)
    rows = []
    for method in GRADIENT_AND_PERTURBATION:
        result = gymsuite.explain(run, method, states=states, out=root / f"{method}.mp4")
        s, d = result["checks"]["sanity"], result["checks"]["deletion"]
        rows.append([method, f"{s['output_layer']:.2f}", f"{s['full']:.2f}", "passes" if s["trustworthy"] else "FAILS",
                     f"{d['top_drop']:.2e} vs {d['random_drop']:.2e}"])
        print(f"sanity {method}: {s} {d}", flush=True)
    agent = load_agent(str(run))
    venv = make_agent_env(agent, seed=0)
    try:
        seen = collect_states(agent, venv, states, True, frames=False)
    finally:
        venv.close()
    assert agent.model is not None
    edge = attribution.sanity_check(edge_map, agent.model.policy, th.as_tensor(seen.observations).float(),
                                    ["action_net"])
    rows.append(["edge detector (control: no network)", f"{edge.output_layer:.2f}", f"{edge.full:.2f}",
                 "passes" if edge.trustworthy else "FAILS", "-"])
    header = ["method", "rank corr., output layer re-initialised", "rank corr., all re-initialised",
              "randomisation test", "deletion: top-k vs random drop of p(action)"]
    return (f"### The randomisation test on a trained agent\n\nPPO with `small_cnn` on {ENV} at 84x84, {steps:,} "
            f"steps (final return {trained.eval.get('mean_return', float('nan')):.1f}); maps over {states} "
            "on-policy states; deletion of the top 10% of pixels (set to the mean frame) against 10% random ones.\n\n"
            + benchlib.table(header, rows))


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sections", nargs="+", choices=["speed", "sanity"], default=["speed", "sanity"])
    for key in FULL:
        p.add_argument(f"--{key.replace('_', '-')}", type=int, help=f"default {FULL[key]:,} (--quick {QUICK[key]:,})")
    p.add_argument("--backbones", nargs="+", default=BACKBONES)
    p.add_argument("--threads", nargs="+", type=int, default=THREADS)
    benchlib.add_run_options(p)
    args = p.parse_args(argv)
    benchlib.fill_budget(args, FULL, QUICK)
    start = time.perf_counter()
    parts = []
    if "speed" in args.sections:
        parts.append(section_speed(args.frames, args.backbones, args.threads))
    if "sanity" in args.sections:
        th.set_num_threads(2)
        with tempfile.TemporaryDirectory(prefix="gymsuite-bench-explain-") as tmp:
            parts.append(section_sanity(Path(tmp), args.train_steps, args.states))
    text = "\n\n".join([f"## Explain (`benchmarks/explain.py`)\n\nMachine: {benchlib.machine()}. Wall time "
                        f"{(time.perf_counter() - start) / 60:.1f} min.", *parts])
    benchlib.publish("explain", text, args.benchmarks, not (args.no_write or args.quick))
    return text


if __name__ == "__main__":
    main()
    sys.exit(0)
