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
from pathlib import Path

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
    from gymsuite.agents.algorithms import registry
    from gymsuite.agents.run.config import RunConfig, build_config, parse_assignments
    from gymsuite.agents.run.training import resume, train

    if args.list_algos:
        for name in registry.available():
            print(f"{name:10s} {registry.get(name).description}")
        return 0
    if args.resume:
        if args.video:  # the run's env, checked before training resumes
            from gymsuite.agents.files.rundir import RunDir
            from gymsuite.agents.saved.video import check_recordable
            from gymsuite.common.files import read_yaml

            run = RunDir(Path(args.resume))
            saved = read_yaml(run.config) if run.is_run() else {}
            if saved.get("env"):
                check_recordable(str(saved["env"]), (saved.get("hyperparams") or {}).get("env_kwargs"))
        result = resume(args.resume, trust_pickle=args.trust_pickle)
    else:
        cli = cli_values(RunConfig, args, parse_pairs=parse_assignments, skip=_OWN_FLAGS)
        pixels = ["pixels=true"] if args.pixels and not any(h.startswith("pixels=") for h in args.hyperparams) else []
        cfg = build_config(cli, args.config, [*pixels, *args.hyperparams])
        if args.video:  # an env that cannot render is found now, not after training
            from gymsuite.agents.saved.video import check_recordable

            check_recordable(cfg.env, cfg.hyperparams.get("env_kwargs"))
        result = train(cfg, args.run_dir, overwrite=args.overwrite, trust_pickle=args.trust_pickle)
    if result.interrupted:  # Ctrl-C or SIGTERM: exit 128 + the signal (130, 143), as a shell reports it
        print(f"\ninterrupted ({signal.Signals(result.signum).name}) at step {result.steps}; "
              f"saved {result.run.model} and a checkpoint.\n"
              f"continue with: gymsuite train --resume {result.run.root}", file=sys.stderr)
        return 128 + result.signum
    ev = result.eval
    print(f"trained {result.steps} steps in {result.seconds:.1f}s ({ev['train_fps']:.0f} steps/s)")
    print(f"evaluation over {ev['episodes']} episodes: mean return {ev['mean_return']:.2f} +- {ev['std_return']:.2f}")
    print(f"run directory: {result.run.root}")
    if args.video:
        from gymsuite.agents.saved.loading import load_agent
        from gymsuite.agents.saved.video import record

        out = result.run.videos / "final.mp4"
        record(load_agent(str(result.run.root)), out, episodes=1)
        print(f"video: {out}")
    print(json.dumps({"run_dir": str(result.run.root), "mean_return": ev["mean_return"]}))
    return 0


if __name__ == "__main__":
    sys.exit(_cli.run(main))
