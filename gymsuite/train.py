#!/usr/bin/env python
"""Train any registered algorithm on any Gymnasium environment.

    python scripts/train.py --algo ppo --env CartPole-v1 --video
    python scripts/train.py --algo dqn --env LunarLander-v3 --timesteps 200000 --hyperparams learning_rate=1e-3
    python scripts/train.py --resume runs/ppo-CartPole-v1-s0-20260101-120000
"""

from __future__ import annotations

import argparse
import json
import sys

from gymsuite import _cli


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--algo", help="algorithm (see --list-algos)")
    p.add_argument("--env", help="env id, package.module:Class or path/to/file.py:Class")
    p.add_argument("--timesteps", type=int, help="environment steps (default: tuned per env)")
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--n-envs", type=int, help="parallel environments (default: tuned per env)")
    p.add_argument("--hyperparams", nargs="+", default=[], metavar="KEY=VALUE", help="override hyperparameters")
    p.add_argument("--config", help="YAML file of run settings (a run's config.yaml reruns it)")
    p.add_argument("--run-dir", help="where to write the run (default: runs/<algo>-<env>-s<seed>-<time>)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --run-dir")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint")
    p.add_argument("--eval-episodes", type=int, help="episodes of the final evaluation (default 10)")
    p.add_argument("--eval-freq", type=int, help="env steps between evaluations (default: 10 per run; 0 off)")
    p.add_argument("--checkpoint-freq", type=int, help="env steps between checkpoints (default: 10 per run)")
    p.add_argument("--video", action="store_true", help="record an mp4 of the trained agent into RUN_DIR/videos")
    p.add_argument("--reward-shaping", metavar="FILE", help="YAML file of reward-shaping terms")
    p.add_argument("--curiosity", help="intrinsic reward: icm or rnd")
    p.add_argument("--curiosity-kwargs", nargs="+", default=[], metavar="KEY=VALUE", help="curiosity options")
    p.add_argument("--learned-reward", metavar="RUN_DIR", help="learn from the reward a gail/airl run learned")
    p.add_argument("--learned-reward-kwargs", nargs="+", default=[], metavar="KEY=VALUE",
                   help="mode=replace|add, scale=NUMBER, absorbing=true|false")
    p.add_argument("--demos", help="demonstrations file (bc, dagger, gail, airl)")
    p.add_argument("--expert", help="expert run directory or model (dagger)")
    p.add_argument("--no-check", action="store_true", help="skip the custom-environment check")
    p.add_argument("--threads", type=int, help="torch CPU threads (default 1)")
    p.add_argument("--list-algos", action="store_true", help="list the algorithms and exit")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def main(argv: list[str] | None = None) -> int:
    from agents.algorithms import registry
    from agents.pipeline.config import build_config, parse_assignments
    from agents.pipeline.training import resume, train

    args = parser().parse_args(argv)
    if args.list_algos:
        for name in registry.available():
            print(f"{name:10s} {registry.get(name).description}")
        return 0
    if args.resume:
        result = resume(args.resume)
    else:
        cli = {"algo": args.algo, "env": args.env, "timesteps": args.timesteps, "seed": args.seed,
               "n_envs": args.n_envs, "eval_episodes": args.eval_episodes, "eval_freq": args.eval_freq,
               "checkpoint_freq": args.checkpoint_freq, "reward_shaping": args.reward_shaping,
               "curiosity": args.curiosity, "demos": args.demos, "expert": args.expert, "threads": args.threads,
               "curiosity_kwargs": parse_assignments(args.curiosity_kwargs) or None,
               "learned_reward": args.learned_reward,
               "learned_reward_kwargs": parse_assignments(args.learned_reward_kwargs) or None,
               "check_env": False if args.no_check else None}
        cfg = build_config(cli, args.config, args.hyperparams)
        result = train(cfg, args.run_dir, overwrite=args.overwrite)
    if result.interrupted:
        print(f"\ninterrupted at step {result.steps}; saved {result.run.model} and a checkpoint.\n"
              f"continue with: python scripts/train.py --resume {result.run.root}", file=sys.stderr)
        return 130
    ev = result.eval
    print(f"trained {result.steps} steps in {result.seconds:.1f}s ({ev['train_fps']:.0f} steps/s)")
    print(f"evaluation over {ev['episodes']} episodes: mean return {ev['mean_return']:.2f} +- {ev['std_return']:.2f}")
    print(f"run directory: {result.run.root}")
    if args.video:
        from agents.pipeline.loading import load_agent
        from agents.pipeline.video import record

        out = result.run.videos / "final.mp4"
        record(load_agent(str(result.run.root)), out, episodes=1)
        print(f"video: {out}")
    print(json.dumps({"run_dir": str(result.run.root), "mean_return": ev["mean_return"]}))
    return 0


if __name__ == "__main__":
    sys.exit(_cli.run(main))
