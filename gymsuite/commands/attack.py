"""Attack a trained agent: its return against epsilon for each attack and for the worst of them.

    gymsuite attack runs/ppo-CartPole-v1-s0 --eps 0,0.05,0.1,0.15 --attacks random,fgsm,pgd,critic,mad --json
    gymsuite attack runs/cp --attacks pgd,transfer:runs/cp-other --seeds 0,1,2 --plot attack.png
    gymsuite attack runs/cp --defence randomized:0.05:8      # a passive defence's clean and robust returns

Attacks: random (uniform noise), fgsm, pgd (on the log-probability of the agent's greedy action), critic (PGD
toward a low value), mad (PGD on the KL between the action distributions at s and s + delta, SA-PPO's),
transfer:RUN2 (PGD crafted with RUN2's network, applied to this agent). Epsilon is in the observation's units
(the run's normaliser is taken into account; pixels: 0-255). The worst is taken per episode over the attacks.
"""

from __future__ import annotations

import argparse
import json
import sys

from gymsuite.commands import _cli


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from err


def _ints(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}") from err


def main(argv: list[str] | None = None) -> int:
    from gymsuite import api
    from gymsuite.agents.saved.attackreport import describe
    from gymsuite.supervised.adversarial import ATTACKS

    p = _cli.parser("attack", __doc__)
    _cli.add_agent(p, "run directory or model .zip", "environment (default: the run's)")
    p.add_argument("--eps", type=_floats, default=[0.0, 0.05, 0.1, 0.15],
                   help="perturbation sizes, comma-separated, in observation units (default 0,0.05,0.1,0.15)")
    p.add_argument("--attacks", default=",".join(ATTACKS),
                   help=f"comma-separated: {', '.join(ATTACKS)}, transfer:RUN2 (default: all but transfer)")
    p.add_argument("--defence", action="append", default=[], metavar="DEFENCE",
                   help="a passive defence reported beside the bare agent (repeatable): randomized:SIGMA[:N], "
                        "bits:B, median:K (the last two for pixels)")
    p.add_argument("--seeds", type=_ints, default=[0], help="env seeds, comma-separated (default 0)")
    p.add_argument("--episodes", type=int, default=5, help="episodes per seed, played side by side (default 5)")
    p.add_argument("--steps", type=int, default=10, help="PGD steps of pgd, critic, mad and transfer (default 10)")
    p.add_argument("--max-episode-steps", type=int, metavar="N", help="cut an episode after N steps")
    p.add_argument("--best", action="store_true", help="attack best_model.zip instead of model.zip")
    p.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=True,
                   help="greedy actions (default) or sampled ones")
    p.add_argument("--plot", metavar="FILE", help="also plot return against epsilon per attack to FILE (.png, .pdf)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = _cli.parse_agent_args(p, argv)
    report = api.attack(args.target, args.eps, [a for a in args.attacks.split(",") if a], env=args.env,
                        algo=args.algo, best=args.best, seeds=args.seeds, episodes=args.episodes,
                        defences=args.defence, steps=args.steps, deterministic=args.deterministic,
                        max_episode_steps=args.max_episode_steps, plot=args.plot, trust_pickle=args.trust_pickle)
    print(json.dumps(report) if args.json else "\n".join(describe(report)))
    return 0


if __name__ == "__main__":
    sys.exit(_cli.run(main))
