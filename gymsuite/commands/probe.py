"""Probe what a trained agent's encoder learned: R^2 of a linear probe from its features to the env's true state.

    gymsuite probe runs/ppo-gymsuite-PixelCartPole-v0-s0-... --episodes 20 --random-init

Rolls out the agent's policy, records its backbone's features and ``env.unwrapped.state`` at
every step, fits a ridge regression per state variable on 70% of the episodes and prints its R^2 on
the others (1: the variable can be read off the features linearly; 0: no better than its mean).
Fewer training steps than features is refused (exit 2): the R^2 would then measure nothing; the
message says about how many --episodes suffice.
``--random-init`` adds the same probe on a freshly initialised encoder of the same architecture,
the baseline that says how much of that comes from training rather than from the architecture.
"""

from __future__ import annotations

import argparse
import json
import sys

from gymsuite.commands import _cli


def main(argv: list[str] | None = None) -> int:
    from gymsuite.agents.saved.loading import load_agent, make_agent_env
    from gymsuite.agents.saved.probing import probe_agent

    p = _cli.parser("probe", __doc__)
    _cli.add_agent(p, "run directory or model .zip", "environment (default: the run's)")
    p.add_argument("--episodes", type=int, default=10,
                   help="episodes to roll out (at least 2, and enough for as many training steps as features; "
                        "default 10)")
    p.add_argument("--seed", type=int, default=12345, help="seeds the env, the split and the fresh encoder")
    p.add_argument("--max-episode-steps", type=int, metavar="N",
                   help="cut an episode after N steps (default: the env's time limit, else 10000)")
    p.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=False,
                   help="greedy actions (default: sampled ones, which visit more varied states)")
    p.add_argument("--random-init", action="store_true",
                   help="also probe a freshly initialised encoder of the same architecture (the baseline)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = _cli.parse_agent_args(p, argv)
    _cli.check_positive("--max-episode-steps", args.max_episode_steps)
    agent = load_agent(args.target, algo=args.algo, env=args.env, trust_pickle=args.trust_pickle)
    venv = make_agent_env(agent, seed=args.seed, max_episode_steps=args.max_episode_steps)
    try:
        result = probe_agent(agent, venv, args.episodes, args.seed, args.random_init, args.deterministic)
    finally:
        venv.close()
    result.update(algo=agent.algo, env=agent.env)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"linear probe of {agent.algo}'s features ({result['features']}) on {agent.env}: held-out R^2 over "
          f"{result['test_samples']} steps ({result['samples']} in {result['episodes']} episodes)")
    fresh = result.get("r2_random_init")
    print(f"  {'variable':12s} {'trained':>8s}" + (f" {'random init':>12s}" if fresh else ""))
    for name in result["variables"]:
        line = f"  {name:12s} {_fmt(result['r2'][name]):>8s}"
        print(line + (f" {_fmt(fresh[name]):>12s}" if fresh else ""))
    return 0


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    sys.exit(_cli.run(main))
