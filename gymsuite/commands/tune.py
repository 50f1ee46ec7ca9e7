"""Tune an algorithm's hyperparameters on an env (Optuna: TPE sampling, median pruning); run it again to continue.

    gymsuite tune --algo ppo --env CartPole-v1 --trials 50 --timesteps 50000 --jobs 2
    gymsuite train --config runs/tune/ppo-CartPole-v1/best/config.yaml

Each trial is an ordinary run directory under <study>/trials/ (gymsuite compare and plot read them); the search
space is agents/hyperparams/spaces/<algo>.yml unless --space names another (its header says the format).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from gymsuite.commands import _cli


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    from gymsuite.agents.sweeps.executor import check_ray_address
    from gymsuite.agents.sweeps.tune import finished, open_study, plan_study, run_study, study_lock
    from gymsuite.agents.sweeps.tunereport import best_trial
    from gymsuite.common.errors import UserError

    p = _cli.parser("tune", __doc__)
    p.add_argument("--algo", required=True, help="the algorithm to tune (ppo, a2c, dqn, pg ...)")
    p.add_argument("--env", required=True, help="env id, package.module:Class or path/to/file.py:Class")
    p.add_argument("--trials", type=int,
                   help="finished trials (complete or pruned) the study should have in all (default with --timeout: "
                        "as many as fit)")
    p.add_argument("--timesteps", type=int, help="env steps per trial (default: the algorithm's tuned value)")
    p.add_argument("--jobs", type=int, default=1, help="trials at a time, in worker processes (default 1)")
    p.add_argument("--study", type=Path,
                   help="the study directory (default runs/tune/<algo>-<env>); it may hold no symbolic link")
    p.add_argument("--space", type=Path, metavar="FILE.yaml",
                   help="search space replacing agents/hyperparams/spaces/<algo>.yml")
    p.add_argument("--hyperparams", nargs="*", default=[], metavar="KEY=VALUE",
                   help="fixed hyperparameters of every trial (the space's values override them)")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="start no trial after this many seconds (running ones finish); with --trials, whichever "
                        "comes first")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of every trial's training and of the sampler (a continued study's sampler: this seed "
                        "and the study's number of trials, so it proposes new configurations)")
    p.add_argument("--seeds-per-trial", type=int, default=1, metavar="K",
                   help="seeds each trial trains (seed, seed+1, ...), its value their mean return (default 1; one "
                        "seed per trial rewards the luckiest seed)")
    p.add_argument("--objective", default="return", choices=("return", "seconds", "steps"),
                   help="a trial's value: its final return (default), or minus the training seconds or env steps "
                        "to --target-return per solved seed (a seed that misses it counts all it spent, and is run "
                        "again: the mean cost over the share of seeds that reach it)")
    p.add_argument("--target-return", metavar="R|auto",
                   help="every trial's runs stop at the first evaluation reaching R (auto: the env's threshold); "
                        "needed by --objective seconds|steps")
    p.add_argument("--ray-address", metavar="ADDRESS",
                   help="run trials on a Ray cluster: host:port, auto or local; --study must then be on storage "
                        "every node sees. Needs gymsuite[distributed]")
    args = p.parse_args(argv)
    _cli.check_positive("--trials", args.trials)
    _cli.check_positive("--jobs", args.jobs)
    if args.timeout is not None and not args.timeout > 0:
        raise UserError(f"--timeout must be a positive number of seconds, got {args.timeout}",
                        "leave it out to stop after --trials")
    if args.trials is None and args.timeout is None:
        raise UserError("neither --trials nor --timeout given: the study would never end",
                        "pass --trials N, --timeout SECONDS or both")
    trials = args.trials if args.trials is not None else 10**9
    study = plan_study(args.algo, args.env, args.timesteps, args.seed, args.hyperparams, args.space, args.study,
                       seeds_per_trial=args.seeds_per_trial, objective=args.objective,
                       target_return=args.target_return)
    check_ray_address(args.ray_address)
    command = " ".join(["gymsuite", "tune", *(argv if argv is not None else sys.argv[1:])])
    with study_lock(study.root):
        opened = open_study(study)
        first = best_trial(opened)
        best: list[float] = [first.value] if first is not None and first.value is not None else []
        bar = tqdm(total=args.trials, initial=min(finished(opened), trials), unit="trial", file=sys.stderr)
        if best:
            bar.set_postfix_str(f"best {best[0]:.4g}")

        def on_trial(frozen: object) -> None:
            from optuna.trial import FrozenTrial, TrialState

            assert isinstance(frozen, FrozenTrial)
            if frozen.state in (TrialState.COMPLETE, TrialState.PRUNED):
                bar.update(1)
            if frozen.state == TrialState.COMPLETE and frozen.value is not None:
                best[:] = [max([*best, frozen.value])]
            if best:
                bar.set_postfix_str(f"best {best[0]:.4g}")

        signum = run_study(study, opened, trials, args.jobs, args.ray_address, on_trial, args.timeout)
        bar.close()
    if signum:
        raise UserError(f"the study was stopped ({signal.Signals(signum).name}): finished trials are kept, "
                        "running ones are tried again on continue", f"continue with: {command}")
    done = finished(opened)
    print(f"{done} trials finished in {study.root}: see {study.root / 'summary.md'}; "
          f"train the best with: gymsuite train --config {study.root / 'best' / 'config.yaml'}")
    return 0
