"""Explain what a trained agent's action (or value) depends on: a saliency map over its observations, with two checks.

    gymsuite explain runs/ppo-CartPole-v1-s0-... --method ig --baseline data
    gymsuite explain runs/ppo-gymsuite-PixelCartPole-v0-s0-... --method perturb --states 200

Rolls the agent out for --states on-policy states and attributes, by --method, the log-probability of the
action it chose (--target action) or its critic's value (--target value) to its observation:
grad (the gradient), smoothgrad (the gradient averaged over noisy copies), ig (integrated gradients from the
--baseline), occlusion (a window set to the baseline), perturb (Greydanus et al.'s blurred patches) or
attention (an attention backbone's own weights). Vector observations: each feature's share of the mean
|attribution| as a table and a bar chart (png); images: an mp4 of the env's frames with the map over them,
beside the agent's own view. Every map is checked: the randomisation test (the map of a network whose
weights were re-initialised, output layer then all, should differ: above a rank correlation of 0.9 it is
reported untrustworthy) and the deletion score (setting the top --deletion-fraction of inputs to the
baseline should lower the chosen action's probability more than setting as many random ones).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gymsuite.commands import _cli


def main(argv: list[str] | None = None) -> int:
    from gymsuite.agents.saved.explaining import BASELINES, TARGETS
    from gymsuite.api import explain
    from gymsuite.supervised.attribution import METHODS

    p = _cli.parser("explain", __doc__)
    _cli.add_agent(p, "run directory or model .zip", "environment (default: the run's)")
    p.add_argument("--method", default="grad", help=f"{', '.join(METHODS)} (default grad)")
    p.add_argument("--target", dest="explained", default="action",
                   help=f"{' or '.join(TARGETS)}: the log-probability of the chosen action, or the critic's value "
                        "(default action)")
    p.add_argument("--baseline", default="data",
                   help=f"{' or '.join(BASELINES)}: the 'absent' input of ig, occlusion, perturb on vectors and the "
                        "deletion score: the mean of the on-policy observations, or zeros (default data)")
    p.add_argument("--states", type=int, metavar="N",
                   help="on-policy states to explain (default 200 for vectors, 100 frames for images)")
    p.add_argument("--deletion-fraction", type=float, default=0.1, metavar="F",
                   help="share of the inputs the deletion score removes (default 0.1, at least one)")
    p.add_argument("--seed", type=int, default=0, help="seeds the env, the randomisation and the random deletions")
    p.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=True,
                   help="greedy actions (default), else sampled ones")
    p.add_argument("--out", type=Path, help="the png (vectors) or mp4 (images) to write (default RUN/explain/"
                                            "METHOD-TARGET.png|mp4)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = _cli.parse_agent_args(p, argv)
    result = explain(args.target, args.method, target=args.explained, baseline=args.baseline, states=args.states,
                     deletion_fraction=args.deletion_fraction, out=args.out, env=args.env, algo=args.algo,
                     seed=args.seed, deterministic=args.deterministic, trust_pickle=args.trust_pickle)
    if args.json:
        print(json.dumps(result))
        return 0
    print_result(result)
    return 0


def print_result(result: dict) -> None:
    """The table (vectors) or the video's path, then the checks in words."""
    print(f"{result['method']} attribution of the {result['target']} of {result['algo']} on {result['env']}, "
          f"over {result['states']} on-policy states (baseline: {result['baseline']})")
    if result["observation"] == "vector":
        print(f"  {'feature':24s} {'share':>7s} {'mean |attr|':>12s}")
        for name, share, value in zip(result["features"], result["share"], result["mean_abs"], strict=True):
            print(f"  {name:24s} {share:7.1%} {value:12.4g}")
        print(f"plot: {result['plot']}")
    else:
        print(f"video: {result['video']} ({result['frames']} frames)")
    sanity, deletion = result["checks"]["sanity"], result["checks"]["deletion"]
    print(f"randomisation test: rank correlation with the map of a network whose output layer was re-initialised "
          f"{sanity['output_layer']:.2f}, whole network {sanity['full']:.2f} -> "
          + ("passed" if sanity["trustworthy"] else f"FAILED (above {sanity['threshold']}: the map hardly depends "
                                                    "on the weights)"))
    print(f"deletion score ({deletion['measure']}): removing the top {deletion['k']} inputs "
          f"{deletion['top_drop']:.4f}, {deletion['k']} random ones {deletion['random_drop']:.4f} -> "
          + ("passed" if deletion["beats_random"] else "FAILED (no better than random inputs)"))
    print("trust the map: " + ("yes" if result["trustworthy"] else "no"))


if __name__ == "__main__":
    sys.exit(_cli.run(main))
