"""Record an expert's episodes as demonstrations for bc, dagger, gail and airl.

    gymsuite collect-demos runs/ppo-CartPole-v1-s0-... --episodes 20 --out demos/cartpole.npz
    gymsuite collect-demos expert.zip --env LunarLander-v3 --episodes 5 --out ll.npz

The expert is a run directory or any stable-baselines3 model zip (a zip outside a run
directory needs --env). The file format is described in agents/data/demos.py and docs/imitation.md.
"""

from __future__ import annotations

import argparse
import sys

from gymsuite.commands import _cli


def main(argv: list[str] | None = None) -> int:
    from imitation.data.wrappers import RolloutInfoWrapper

    from gymsuite.agents.data.demos import save_demos
    from gymsuite.agents.data.recording import record_demos
    from gymsuite.agents.observation import env_options
    from gymsuite.agents.saved.experts import load_expert
    from gymsuite.common.errors import UserError
    from gymsuite.envs.factory import make_env
    from gymsuite.envs.wrappers import episode_cap

    p = _cli.parser("collect-demos", __doc__)
    _cli.add_agent(p, "expert: a run directory or an SB3 model .zip", "environment (default: the run's)")
    p.add_argument("--episodes", type=int, default=10, help="episodes to record (default 10)")
    p.add_argument("--out", required=True, help="demonstrations file to write (.npz)")
    p.add_argument("--seed", type=int, default=0, help="seed of the recorded episodes (default 0)")
    p.add_argument("--max-episode-steps", type=int, default=None, metavar="N",
                   help="cut an episode after N steps (default: the env's time limit, else 10000), so an expert "
                        "that never ends an episode cannot hang the recording")
    p.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=True,
                   help="greedy expert actions (default) or sampled ones (--no-deterministic)")
    args = _cli.parse_agent_args(p, argv)
    if args.episodes < 1:
        raise UserError(f"--episodes must be at least 1, got {args.episodes}")
    _cli.check_positive("--max-episode-steps", args.max_episode_steps)
    expert, env = load_expert(args.target, env=args.env, algo=args.algo, trust_pickle=args.trust_pickle)
    hyper = _run_hyperparams(args.target)
    # RolloutInfoWrapper (inside Monitor) hands imitation's rollout the raw observations and rewards;
    # the expert sees what it was trained on (a window backbone's history, MiniGrid's view, pixels).
    # The cap sits inside RolloutInfoWrapper, so a cut episode is stored as truncated, not as ended by the env.
    venv = make_env(env, n_envs=1, seed=args.seed, options=env_options(hyper, env),
                    wrappers=[episode_cap(args.max_episode_steps), RolloutInfoWrapper])
    try:
        demos = record_demos(expert, venv, args.episodes, env, seed=args.seed, deterministic=args.deterministic,
                             source=f"{args.target} ({'greedy' if args.deterministic else 'sampled'})")
    finally:
        venv.close()
    demos.check_spaces(venv.observation_space, venv.action_space, env)
    out = save_demos(args.out, demos)
    returns = demos.returns()
    print(f"recorded {demos.n_episodes} episodes ({demos.n_transitions} steps) of {args.target} on {env}: "
          f"return {returns.mean():.2f} +- {returns.std():.2f}")
    print(f"demonstrations: {out}")
    return 0


def _run_hyperparams(target: str) -> dict:
    """The env settings (env_kwargs, max_episode_steps) of the run ``target`` comes from, if any."""
    from pathlib import Path

    from gymsuite.common.files import read_yaml

    path = Path(target)
    config = (path if path.is_dir() else path.parent) / "config.yaml"
    return dict(read_yaml(config).get("hyperparams") or {}) if config.is_file() else {}


if __name__ == "__main__":
    sys.exit(_cli.run(main))
