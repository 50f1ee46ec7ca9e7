"""Export a trained agent's greedy policy to ONNX or TorchScript, with a parity report against the Python policy.

    gymsuite export runs/ppo-CartPole-v1-s0-... --format onnx
    gymsuite export runs/ppo-gymsuite-PixelCartPole-v0-s0-... --format onnx --int8 --out pixel.int8.onnx
    gymsuite export runs/lstm-run --format torchscript --json

The file takes the env's raw observation (obs: uint8 images, int64 Discrete, float32 otherwise): the run's
observation normalisation, SB3's channel transpose and image scaling are inside it. Outputs: action, then logits
(log-probabilities), mean (Box actions) or q_values (dqn). An LSTM run (backbone=lstm) also takes h, c
(layers, B, hidden; zeros at the first step) and episode_start (B,; 1 where an episode begins) and returns h_out,
c_out: feed them back at the next step. ONNX is written by torch's default exporter (dynamo), else by its legacy
one (the report says which). The parity report (printed, --json, and beside the file as FILE.parity.json): greedy
action agreement with the Python policy on --states on-policy states and as many random observations, the largest
difference of the logits, the file's size, and latency per call at batch 1 and 64 in torch and onnxruntime.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gymsuite.commands import _cli


def main(argv: list[str] | None = None) -> int:
    from gymsuite.api import export

    p = _cli.parser("export", __doc__)
    _cli.add_agent(p, "run directory or model .zip", "environment (default: the run's)")
    p.add_argument("--format", required=True, choices=("onnx", "torchscript"), help="the file's format")
    p.add_argument("--out", type=Path,
                   help="the file (default RUN/export/policy.onnx|.pt, policy.int8.onnx|.pt with --int8)")
    p.add_argument("--int8", action="store_true",
                   help="dynamic int8 quantisation (onnxruntime's for onnx; torch's for torchscript, Linear and "
                        "LSTM layers only)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file and its report")
    p.add_argument("--states", type=int, default=200, metavar="N",
                   help="on-policy states (and random observations) of the parity check (default 200)")
    p.add_argument("--seed", type=int, default=0, help="seeds the env of the on-policy states and the random ones")
    p.add_argument("--best", action="store_true", help="export the run's best_model.zip instead of model.zip")
    p.add_argument("--no-latency", dest="latency", action="store_false", help="leave the latency out (faster)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = _cli.parse_agent_args(p, argv)
    result = export(args.target, args.format, out=args.out, int8=args.int8, overwrite=args.overwrite,
                    states=args.states, seed=args.seed, latency=args.latency, env=args.env, algo=args.algo,
                    best=args.best, trust_pickle=args.trust_pickle)
    if args.json:
        print(json.dumps(result))
        return 0
    print_result(result)
    return 0


def print_result(result: dict) -> None:
    """The file, how it was written, then the parity table."""
    kind = f"{result['format']}{' int8' if result['int8'] else ''}"
    print(f"wrote {result['file']} ({kind}, {result['bytes']:,} bytes; exporter: {result['exporter']})")
    if result["fallback_reason"]:
        print(f"  torch's default exporter failed ({result['fallback_reason']}); the legacy one wrote it")
    print(f"  inputs: {', '.join(result['inputs'])}; outputs: {', '.join(result['outputs'])}")
    print(f"parity with the Python policy ({result['algo']}, {result['backbone']} on {result['env']}):")
    for name in ("on_policy", "random"):
        row = result[name]
        print(f"  {name.replace('_', '-'):10s} {row['states']:5d} states: greedy actions agree "
              f"{row['agreement']:7.2%}, max |difference| {row['max_abs_diff']:.3g}")
    for runtime, by_batch in result.get("latency_s", {}).items():
        cells = ", ".join(f"batch {b}: {s * 1e6:,.1f} us" for b, s in by_batch.items())
        print(f"  latency {runtime:12s} {cells}")
    if not result["int8"]:
        print("float export agrees on every on-policy state: " + ("yes" if result["target_met"] else "NO"))
    print(f"report: {result['parity_file']}")


if __name__ == "__main__":
    sys.exit(_cli.run(main))
