"""Test-time adaptation: fine-tune a trained image agent's encoder on unlabelled frames of a new visual domain.

    gymsuite adapt runs/pix --env gymsuite/PixelCartPoleRecolored-v0 --out runs/pix-adapted
    gymsuite adapt runs/pix --param background=0.55 --param pole=0.1 --steps 8192 --out runs/pix-dark --json

The agent plays --steps steps in the target domain (no rewards used), its encoder alone (the policy's features
extractor; the policy and value heads frozen) is fine-tuned by --updates steps of the reconstruction loss on those
frames, with the run's own aux=recon decoder when it trained with one, else a fresh decoder fitted first. The target
domain is --env (an env spec with the run's observation space; default: the run's env) with the --param values set
(NAME=VALUE, as for gymsuite shift: PixelCartPole's look is background, texture, track, cart, pole).

The target return is measured before and after over --episodes episodes with the same seeds. --out (a new
directory) gets model.zip, config.yaml (its env: --env when given) and adapt.json, so every command takes it:
gymsuite evaluate runs/pix-adapted. --json prints one object: before, after (mean_return, returns), the
reconstruction loss before and after, the parameters that changed.
"""

from __future__ import annotations

import json
import sys

from gymsuite.commands import _cli


def main(argv: list[str] | None = None) -> int:
    from gymsuite.api import adapt

    p = _cli.parser("adapt", __doc__)
    _cli.add_agent(p, "run directory or model .zip (an image backbone)",
                   "the target domain's env (default: the run's own, with --param)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="an env parameter of the target domain (absolute or 2x the nominal value); repeatable")
    p.add_argument("--out", required=True, metavar="DIR", help="the adapted run's directory (must not exist)")
    p.add_argument("--steps", type=int, default=4096, help="unlabelled target frames to collect (default 4096)")
    p.add_argument("--updates", type=int, default=500, help="fine-tuning gradient steps (default 500)")
    p.add_argument("--batch-size", type=int, default=64, help="frames per gradient step (default 64)")
    p.add_argument("--learning-rate", type=float, default=1e-4, help="Adam's step size (default 1e-4)")
    p.add_argument("--episodes", type=int, default=10, help="target episodes before and after (default 10)")
    p.add_argument("--seed", type=int, default=0, help="seed of the envs and minibatches (default 0)")
    p.add_argument("--best", action="store_true", help="the run's best_model.zip instead of model.zip")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = _cli.parse_agent_args(p, argv)
    result = adapt(args.target, args.out, env=args.env, params=args.param, steps=args.steps, updates=args.updates,
                   batch_size=args.batch_size, learning_rate=args.learning_rate, episodes=args.episodes,
                   seed=args.seed, algo=args.algo, best=args.best, trust_pickle=args.trust_pickle)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"target domain: {result['target']} ({result['steps']} frames, {result['updates']} updates, "
          f"{result['decoder']} decoder)")
    print(f"return on the target: {result['before']['mean_return']:.1f} before, {result['after']['mean_return']:.1f} "
          f"after ({len(result['after']['returns'])} episodes, the same seeds)")
    print(f"reconstruction loss: {result['recon_loss_before']:.4f} before, {result['recon_loss_after']:.4f} after")
    print(f"adapted run: {result['out']}")
    return 0


if __name__ == "__main__":
    sys.exit(_cli.run(main))
