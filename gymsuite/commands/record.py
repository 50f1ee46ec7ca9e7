"""Record an mp4 of a trained agent (run directory or model .zip) or of a random one.

    gymsuite record runs/ppo-CartPole-v1-s0-... --out cartpole.mp4
    gymsuite record random --env LunarLander-v3 --episodes 2
    gymsuite record runs/selfplay-tictactoe_v3-s0 --opponent minimax --episodes 2
    gymsuite record random --env pettingzoo.classic.connect_four_v3

A board game (pettingzoo.classic tictactoe_v3, connect_four_v3) is recorded move by move, the
agent moving first in the first game and second in the next, against --opponent (default self).

All requested episodes go into one file. Without --out the video is written to
RUN_DIR/videos/<env>-<n>ep.mp4 (or videos/random-<env>.mp4 for the random agent).
"""

from __future__ import annotations

import sys
from pathlib import Path

from gymsuite.commands import _cli


def main(argv: list[str] | None = None) -> int:
    from gymsuite import api

    p = _cli.parser("record", __doc__)
    _cli.add_agent(p, "run directory, model .zip, or 'random'",
                   "environment (default: the run's; required for 'random')")
    p.add_argument("--episodes", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="output .mp4 file")
    p.add_argument("--max-episode-steps", type=int, metavar="N",
                   help="cut an episode after N steps, with a warning (default: the env's time limit, else 10000)")
    p.add_argument("--stochastic", action="store_true", help="sample actions instead of the greedy ones")
    p.add_argument("--agent-view", action="store_true",
                   help="show what a pixel agent sees (its newest frame, enlarged) beside the env's own rendering")
    p.add_argument("--opponent", default="self",
                   help="board games: who the agent plays, self (default), random, scripted or minimax")
    args = _cli.parse_agent_args(p, argv)
    _cli.check_positive("--max-episode-steps", args.max_episode_steps)
    summary = api.record_video(args.target, args.out, env=args.env, algo=args.algo, episodes=args.episodes,
                               seed=args.seed, deterministic=not args.stochastic,
                               max_episode_steps=args.max_episode_steps, agent_view=args.agent_view,
                               opponent=args.opponent, trust_pickle=args.trust_pickle)
    returns = ", ".join(f"{r:.1f}" for r in summary["returns"])
    capped = f"; {summary['capped_episodes']} cut by the step cap" if summary["capped_episodes"] else ""
    print(f"wrote {summary['video']} ({summary['frames']} frames at {summary['fps']:g} fps; "
          f"episode returns: {returns}{capped})")
    return 0


if __name__ == "__main__":
    sys.exit(_cli.run(main))
