"""Evaluate a trained agent (a run directory or a model .zip) on the environment's own reward.

    gymsuite evaluate runs/ppo-CartPole-v1-s0-... --episodes 20 --json

A board game (a self-play run) is played --episodes games from each seat against each fixed opponent (random,
scripted, and minimax for tic-tac-toe): the mean return is the mean outcome against random, and a table gives the
win / draw / loss rates from each seat against each opponent.
"""

from __future__ import annotations

import argparse
import json
import sys

from gymsuite.commands import _cli


def main(argv: list[str] | None = None) -> int:
    from gymsuite import api
    from gymsuite.agents.saved.evaluation import describe
    from gymsuite.common.errors import UserError

    p = _cli.parser("evaluate", __doc__)
    _cli.add_agent(p, "run directory, model .zip, or 'random'", "environment (default: the run's)")
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--max-episode-steps", type=int, metavar="N",
                   help="cut an episode after N steps, with a warning (default: the env's time limit, else 10000)")
    p.add_argument("--best", action="store_true", help="evaluate best_model.zip instead of model.zip")
    p.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=True,
                   help="greedy actions (default) or sampled ones (--no-deterministic)")
    p.add_argument("--defence", metavar="DEFENCE",
                   help="act through a passive defence: randomized:SIGMA[:N] (the vote over N noisy copies), bits:B "
                        "or median:K (pixels); see gymsuite attack")
    p.add_argument("--json", action="store_true", help="print one JSON object (the keys of eval.json)")
    args = _cli.parse_agent_args(p, argv)
    if args.episodes < 1:
        raise UserError(f"--episodes must be at least 1, got {args.episodes}")
    _cli.check_positive("--max-episode-steps", args.max_episode_steps)
    result = api.evaluate(args.target, args.episodes, env=args.env, algo=args.algo, best=args.best,
                          deterministic=args.deterministic, seed=args.seed, max_episode_steps=args.max_episode_steps,
                          trust_pickle=args.trust_pickle, defence=args.defence)
    if args.json:
        print(json.dumps(result))
    else:  # a game: against whom, and the win / draw / loss table from each seat
        print("\n".join(describe(result)))
    return 0


if __name__ == "__main__":
    sys.exit(_cli.run(main))
