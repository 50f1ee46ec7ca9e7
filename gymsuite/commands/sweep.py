"""Train a grid of algorithms x envs x seeds, each an ordinary run directory; run it again to continue.

    gymsuite sweep --algo ppo,a2c --env CartPole-v1,Acrobot-v1 --seeds 0-9 --jobs 2 --dir runs/sweep
    gymsuite sweep --config runs/tune/ppo-Acrobot-v1/best/config.yaml --seeds 100-104 --dir runs/tuned
    gymsuite compare runs/sweep
    gymsuite sweep --algo ppo --env CartPole-v1 --seeds 0-9 --ray-address 10.0.0.5:6379 --dir /shared/sweep

Every run that ends is logged to ``<dir>/outcomes.jsonl`` (status, node, attempts, seconds, error).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from gymsuite.commands import _cli


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    from gymsuite.agents.sweeps.executor import Outcome, check_ray_address
    from gymsuite.agents.sweeps.sweep import check_dir, parse_seeds, plan, run_sweep, write_plan
    from gymsuite.common.errors import UserError
    from gymsuite.common.files import ensure_dir

    p = _cli.parser("sweep", __doc__)
    p.add_argument("--algo", default="", help="algorithms, comma-separated (ppo,a2c); default: --config's")
    p.add_argument("--env", default="", help="envs, comma-separated (CartPole-v1,Acrobot-v1); default: --config's")
    p.add_argument("--config", metavar="FILE.yaml",
                   help="a run's config.yaml under every run (e.g. a tuned best/config.yaml), as train --config")
    p.add_argument("--seeds", default="0-4", help="seeds: a range 0-9, a list 0,3,5, or both (default 0-4)")
    p.add_argument("--jobs", type=int, help="runs at a time, in worker processes (default 1; with --ray-address, "
                                            "as many as the cluster's free CPUs allow)")
    p.add_argument("--timesteps", type=int, help="env steps per run (default: each algorithm's tuned value)")
    p.add_argument("--preset", help="default hyperparameters of every run, as train --preset: gymsuite (the default; "
                                    "tuned for the time to a solved agent) or zoo (rl-baselines3-zoo's)")
    p.add_argument("--hyperparams", nargs="*", default=[], metavar="KEY=VALUE", help="for every run")
    p.add_argument("--dir", type=Path, default=Path("runs/sweep"), help="where the runs go (default runs/sweep)")
    p.add_argument("--ray-address", metavar="ADDRESS",
                   help="run on a Ray cluster: host:port, auto (the cluster this machine joined) or local (a private "
                        "instance); --dir must then be on storage every node sees. Needs gymsuite[distributed]")
    args = p.parse_args(argv)
    if args.jobs is not None:
        _cli.check_positive("--jobs", args.jobs)
    jobs = args.jobs if args.jobs is not None else 0 if args.ray_address else 1
    args.dir = args.dir.resolve()  # a Ray node's worker starts in another directory: it needs the absolute path
    cells = plan(args.dir, _names(args.algo), _names(args.env), parse_seeds(args.seeds),
                 {"timesteps": args.timesteps, "preset": args.preset}, args.hyperparams, args.config)
    check_dir(args.dir, cells)
    left = [c for c in cells if not c.finished]
    print(f"{len(cells)} runs in {args.dir}: {len(cells) - len(left)} finished, {len(left)} to train", file=sys.stderr)
    check_ray_address(args.ray_address)
    ensure_dir(args.dir, "--dir")  # a file there, or a read-only disk: the fix names --dir
    write_plan(cells, args.dir)
    bar = tqdm(total=len(cells), initial=len(cells) - len(left), unit="run", file=sys.stderr)
    failed: list[str] = []

    def done(outcome: Outcome) -> None:
        if outcome.ok:
            bar.update(1)
            bar.set_postfix_str(f"{outcome.job.key}: {outcome.result.get('mean_return') if outcome.result else ''}")
        elif not outcome.interrupted:
            failed.append(f"{outcome.job.key}: {outcome.error}")
            bar.write(f"failed: {outcome.job.key}: {outcome.error}", file=sys.stderr)

    report = run_sweep(cells, jobs, done, args.ray_address, args.dir / "outcomes.jsonl")
    bar.close()
    command = " ".join(["gymsuite", "sweep", *(argv if argv is not None else sys.argv[1:])])
    if report.stopped:
        name = signal.Signals(report.signum).name
        raise UserError(f"the sweep was stopped ({name}): finished runs are kept, running ones keep a checkpoint",
                        f"continue with: {command}")
    if failed:
        raise UserError(f"{len(failed)} of {len(left)} runs failed: " + "; ".join(failed),
                        f"fix the cause, then run the same command again to train only those: {command}")
    print(f"all {len(cells)} runs finished: gymsuite compare {args.dir}")
    return 0
