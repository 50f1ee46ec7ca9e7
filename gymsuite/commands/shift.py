"""Evaluate a trained agent under domain shift: its return over a grid of env parameters.

    gymsuite shift runs/cp --param length=0.25x:4x:7 --log --episodes 10 --seeds 5 --plot shift.png
    gymsuite shift runs/cp --param length=0.5x:2x:4 --param masscart=0.5x:2x:4 --json

``--param NAME=LOW:HIGH:N`` (once: a curve; twice: a heat map) takes N values from LOW to HIGH (log-spaced
with ``--log``), absolute or as multiples of the nominal value (``0.25x``, ``x4``). Named parameters:
CartPole length (half the pole), masspole, masscart, gravity, force_mag; LunarLander gravity, wind, turbulence;
Pendulum g; MountainCar force, gravity; MiniGrid size; any env: kw:NAME (a constructor keyword) or attr:NAME (a
numeric attribute of the unwrapped env). A parameter the env lacks is refused with those it has; a value that
breaks the env (a pole of length 0, upward gravity) too, before anything runs.

Each grid point plays --episodes episodes under each of --seeds env seeds; the table shows the IQM over seeds of
the per-seed mean return with its 95% bootstrap interval. ``--json`` prints one object: ``params``, ``values``,
``mean_return`` (per parameter value; a list of lists for two parameters), ``ci_low``, ``ci_high``, ``points``.
"""

from __future__ import annotations

import argparse
import json
import sys

from gymsuite.commands import _cli


def main(argv: list[str] | None = None) -> int:
    from gymsuite.agents.saved.shifting import table
    from gymsuite.api import shift

    p = _cli.parser("shift", __doc__)
    _cli.add_agent(p, "run directory or model .zip", "environment (default: the run's)")
    p.add_argument("--param", action="append", required=True, metavar="NAME=LOW:HIGH:N",
                   help="a parameter and its N values from LOW to HIGH (absolute or 0.25x); once or twice")
    p.add_argument("--log", action="store_true", help="log-spaced values (LOW and HIGH above 0)")
    p.add_argument("--episodes", type=int, default=10, help="episodes per grid point and seed (default 10)")
    p.add_argument("--seeds", type=int, default=5, help="env seeds per grid point (default 5)")
    p.add_argument("--seed", type=int, default=0, help="base seed of the envs (default 0)")
    p.add_argument("--max-episode-steps", type=int, metavar="N",
                   help="cut an episode after N steps (default: the env's time limit, else 10000)")
    p.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=True,
                   help="greedy actions (default) or sampled ones")
    p.add_argument("--best", action="store_true", help="the run's best_model.zip instead of model.zip")
    p.add_argument("--plot", metavar="FILE", help="write a line (one parameter) or heat map (two) to FILE")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = _cli.parse_agent_args(p, argv)
    _cli.check_positive("--episodes", args.episodes)
    _cli.check_positive("--seeds", args.seeds)
    _cli.check_positive("--max-episode-steps", args.max_episode_steps)
    result = shift(args.target, args.param, log=args.log, episodes=args.episodes, seeds=args.seeds, seed=args.seed,
                   env=args.env, algo=args.algo, best=args.best, deterministic=args.deterministic,
                   max_episode_steps=args.max_episode_steps, plot=args.plot, trust_pickle=args.trust_pickle)
    if args.json:
        print(json.dumps(result))
        return 0
    print("\n".join(table(result)))
    if args.plot:
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(_cli.run(main))
