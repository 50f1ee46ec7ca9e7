"""Compress a trained agent into a smaller one: a new run directory that evaluate, record, attack and explain take.

    gymsuite compress runs/ppo-LunarLander-v3-s0-... --out runs/ll-student --distill 16
    gymsuite compress runs/ppo-LunarLander-v3-s0-... --out runs/ll-pruned --prune 0.9 --finetune 100000
    gymsuite compress runs/ppo-LunarLander-v3-s0-... --out runs/ll-int8 --int8
    gymsuite compress runs/ppo-CartPole-v1-s0-... --out runs/cp-curve --prune 0.5 0.8 0.9 0.95 --sweep

One method per call. --distill SIZE: a student of the same algorithm with net_arch SIZE ("16", "32,32"; an image
run may name a smaller backbone, its features and widths, "small_cnn@8:16"), taught on-policy (DAgger: the
student acts, the teacher labels) with KL(softmax(teacher / --temperature) || softmax(student)) (Rusu et al.
2016), from an ensemble with --teachers. --prune FRACTION: global magnitude pruning of the weights (masks kept
in masks.npz), or with --structured the weakest units of each hidden layer removed (a smaller net_arch);
--finetune N trains it N env steps, pruning gradually over the first half (the sparsity rises to FRACTION),
pruned weights kept at zero: taught by the unpruned teacher (on-policy distillation, --finetune-by teacher, the
default), or by its own algorithm on the env's reward (--finetune-by algo). --int8: every
Linear weight rounded through PyTorch's dynamic int8 quantisation (model.zip holds the rounded float weights,
which plain SB3 loads; the report measures the really quantised module); with --finetune, quantisation-aware
training after. The report sets the compressed policy beside its teacher: parameters (non-zero and total) and
bytes of the acting network, latency per call (batch 1 and 64), greedy agreement on --states on-policy states
of the teacher, and the IQM return over --episodes. --sweep: one compression per size given, and a curve of
return against size (table, OUT/sweep.json and a plot).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from gymsuite.commands import _cli


def main(argv: list[str] | None = None) -> int:
    from gymsuite.agents.run.compressing import FINETUNE_BY
    from gymsuite.api import compress

    p = _cli.parser("compress", __doc__)
    _cli.add_agent(p, "the teacher: a run directory or model .zip", "environment (default: the run's)")
    p.add_argument("--out", type=Path, required=True, help="the new run directory (--sweep: a folder of them)")
    p.add_argument("--distill", nargs="+", metavar="SIZE", help="distil into a student of this net_arch (16, 32,32, "
                                                                "small_cnn@8:16); several with --sweep")
    p.add_argument("--prune", nargs="+", metavar="FRACTION", help="the share of weights set to zero, in (0, 1); "
                                                                  "several with --sweep")
    p.add_argument("--int8", action="store_true", help="round every Linear weight through int8 (dynamic quantisation)")
    p.add_argument("--structured", action="store_true", help="--prune whole hidden units (a smaller net_arch)")
    p.add_argument("--finetune", type=int, default=0, metavar="STEPS",
                   help="after --prune (zeros kept) or --int8 (quantisation-aware), train this many env steps "
                        "(default 0)")
    p.add_argument("--finetune-by", choices=FINETUNE_BY,
                   help="--finetune's training: distillation from the unpruned teacher (--prune's default) or the "
                        "run's algorithm on the env's reward (--int8's only)")
    p.add_argument("--teachers", default="", metavar="RUN2,RUN3", help="--distill from an ensemble: more teacher runs")
    p.add_argument("--steps", type=int, default=50_000, help="env steps of the distillation (default 50000)")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="the teachers' softmax temperature (default 1; below 1 sharper, e.g. 0.01 for DQN)")
    p.add_argument("--sweep", action="store_true", help="one compression per size: return against size")
    p.add_argument("--plot", type=Path, help="the sweep's figure (default OUT/sweep.png)")
    p.add_argument("--episodes", type=int, default=20, help="greedy episodes of the return (default 20)")
    p.add_argument("--states", type=int, default=1000, help="on-policy states of the agreement (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seeds the envs, the distillation and the fine-tuning")
    p.add_argument("--best", action="store_true", help="compress the run's best_model.zip")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = _cli.parse_agent_args(p, argv)
    teachers = [t for t in args.teachers.split(",") if t]
    result = compress(args.target, args.out, distill=args.distill, prune=args.prune, int8=args.int8,
                      structured=args.structured, finetune=args.finetune,
                      finetune_by=args.finetune_by, teachers=teachers, steps=args.steps,
                      temperature=args.temperature, sweep=args.sweep, plot=args.plot, episodes=args.episodes,
                      states=args.states, seed=args.seed, overwrite=args.overwrite, env=args.env, algo=args.algo,
                      best=args.best, trust_pickle=args.trust_pickle)
    if args.json:
        print(json.dumps(result))
    elif args.sweep:
        print_sweep(result)
    else:
        print_result(result)
    return 0


_ROW = "  {:14s} {:>10s} {:>10s} {:>9s} {:>10s} {:>10s} {:>9s} {:>18s}"


def _row(name: str, r: dict[str, Any]) -> str:
    agreement = f"{r['agreement']:.1%}" if "agreement" in r else "-"
    ci = f"{r['return_iqm']:.1f} [{r['return_ci'][0]:.1f}, {r['return_ci'][1]:.1f}]"
    return _ROW.format(name, f"{r['nonzero']:,}", f"{r['parameters']:,}", f"{r['bytes']:,}",
                       f"{r['latency_b1'] * 1e6:.1f}", f"{r['latency_b64'] * 1e6:.1f}" if "latency_b64" in r else "-",
                       agreement, ci)


def _header() -> str:
    return _ROW.format("", "non-zero", "parameters", "bytes", "us/call b1", "us/call b64", "agreement",
                       "return IQM [95%]")


def print_result(result: dict[str, Any]) -> None:
    """The teacher and the compressed policy side by side, then where the new run is."""
    print(f"{result['method']} of {result['algo']} on {result['env']} (acting network; agreement on "
          f"{result['states']} on-policy states, return over {result['episodes']} greedy episodes)")
    print(_header())
    print(_row("teacher", result["teacher"]))
    print(_row(result["method"], result["compressed"]))
    details = result["details"]
    if "history" in details:
        print("distillation: agreement per round " + " ".join(f"{h['agreement']:.2f}" for h in details["history"]))
    if "net_arch" in details:
        print(f"net_arch: {details['net_arch']}")
    print(f"run directory: {result['run_dir']}")


def print_sweep(result: dict[str, Any]) -> None:
    """One row per size, the teacher first, then where the curve is."""
    print(f"{result['method']} sweep of {result['algo']} on {result['env']}")
    print(_header())
    print(_row("teacher", result["teacher"]))
    for point in result["points"]:
        print(_row(str(point["value"]), point))
    print(f"runs: {Path(result['points'][0]['run_dir']).parent}  plot: {result['plot']}")


if __name__ == "__main__":
    sys.exit(_cli.run(main))
