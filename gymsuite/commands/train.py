"""Train any registered algorithm on any Gymnasium environment.

    gymsuite train --algo ppo --env CartPole-v1 --video
    gymsuite train --algo dqn --env LunarLander-v3 --timesteps 200000 --hyperparams learning_rate=1e-3
    gymsuite train --resume runs/ppo-CartPole-v1-s0-20260101-120000
"""

from __future__ import annotations

import argparse
import json
import signal
import sys

from gymsuite.commands import _cli
from gymsuite.common.options import add_arguments, cli_values

# RunConfig fields with a flag of their own: --hyperparams overrides the tuned table key by key.
_OWN_FLAGS = {"hyperparams"}


def parser() -> argparse.ArgumentParser:
    """The flags: one per :class:`gymsuite.agents.run.config.RunConfig` field (its help), then the command's
    own."""
    from gymsuite.agents.run.runconfig import RunConfig

    p = _cli.parser("train", __doc__)
    settings = p.add_argument_group("run settings (also the keys of a --config file)")
    add_arguments(settings, RunConfig, skip=_OWN_FLAGS)
    command = p.add_argument_group("command")
    command.add_argument("--hyperparams", nargs="+", default=[], metavar="KEY=VALUE", help="override hyperparameters")
    command.add_argument("--pixels", action="store_true",
                         help="train on the env's rendered frames, 84x84 grey, 4 stacked (short for --hyperparams "
                              "pixels=true; pixels={height: 64, width: 64, grey: false, stack: 2} sets them)")
    command.add_argument("--config", help="YAML file of run settings (a run's config.yaml reruns it)")
    command.add_argument("--run-dir", help="where to write the run (default: runs/<algo>-<env>-s<seed>-<time>)")
    command.add_argument("--overwrite", action="store_true", help="replace an existing --run-dir")
    command.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint")
    _cli.add_trust_pickle(command)  # for --resume and --expert
    command.add_argument("--video", action="store_true", help="record an mp4 of the trained agent into RUN_DIR/videos")
    command.add_argument("--list-algos", action="store_true", help="list the algorithms and exit")
    command.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)  # before the heavy imports, so --help answers at once
    from gymsuite import api
    from gymsuite.agents.algorithms import registry
    from gymsuite.agents.run.config import RunConfig, parse_assignments
    from gymsuite.agents.saved.evaluation import games_table

    if args.list_algos:
        for name in registry.available():
            print(f"{name:10s} {registry.get(name).description}")
        return 0
    if args.resume:
        run = api.resume(args.resume, trust_pickle=args.trust_pickle, video=args.video)
    else:
        cli = cli_values(RunConfig, args, parse_pairs=parse_assignments, skip=_OWN_FLAGS)
        pixels = ["pixels=true"] if args.pixels and not any(h.startswith("pixels=") for h in args.hyperparams) else []
        run = api.train(**cli, hyperparams=[*pixels, *args.hyperparams], config=args.config, run_dir=args.run_dir,
                        overwrite=args.overwrite, trust_pickle=args.trust_pickle, video=args.video)
    if run.interrupted:  # Ctrl-C or SIGTERM: exit 128 + the signal (130, 143), as a shell reports it
        print(f"\ninterrupted ({signal.Signals(run.signal).name}) at step {run.steps}; "
              f"saved {run.model_path} and a checkpoint.\n"
              f"continue with: gymsuite train --resume {run.dir}", file=sys.stderr)
        return 128 + run.signal
    ev = run.eval
    print(f"trained {run.steps} steps in {run.seconds:.1f}s ({ev['train_fps']:.0f} steps/s)")
    if "target_return" in ev:  # --target-return: when it was reached, or that it was not
        print(f"target return {ev['target_return']:g} reached at step {ev['target_steps']} after "
              f"{ev['target_seconds']:.1f}s of training" if ev["target_reached"] else
              f"target return {ev['target_return']:g} not reached in {run.steps} steps")
    games = ev.get("games")  # a board game: the mean is against the random opponent; the table says the rest
    over = "games against the random opponent, both seats" if games else "episodes"
    print(f"evaluation over {ev['episodes']} {over}: mean return {ev['mean_return']:.2f} +- {ev['std_return']:.2f}")
    if games:
        print("\n".join(games_table(games)))
    print(f"run directory: {run.dir}")
    if run.video is not None:
        print(f"video: {run.video}")
    print(json.dumps({"run_dir": str(run.dir), "mean_return": ev["mean_return"]}))
    return 0


if __name__ == "__main__":
    sys.exit(_cli.run(main))
