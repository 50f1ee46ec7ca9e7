"""The ``gymsuite`` command: ``gymsuite COMMAND [ARGS]`` runs one of the commands below.

    gymsuite train --algo ppo --env CartPole-v1 --video
    gymsuite evaluate runs/demo --json
    gymsuite record random --env LunarLander-v3
"""

from __future__ import annotations

import importlib
import sys

from gymsuite.commands import _cli
from gymsuite.common.errors import UserError, closest_hint

# command name -> (module in this package, one-line summary)
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("train", "train an algorithm on an environment (or --resume a run)"),
    "evaluate": ("evaluate", "evaluate a run directory or model file"),
    "record": ("record", "record an mp4 of a trained or random agent"),
    "check-env": ("check_env", "check a custom environment and report what is wrong"),
    "collect-demos": ("collect_demos", "record demonstrations from a trained agent"),
    "play": ("play", "play an environment with the keyboard and record demonstrations"),
    "probe": ("probe", "fit a linear probe from a trained agent's features to the env's true state"),
    "explain": ("explain", "explain what a trained agent's action or value depends on (saliency, with trust checks)"),
    "export": ("export", "export a trained policy to ONNX or TorchScript, with a parity report"),
    "shift": ("shift", "a trained agent's return over a grid of env parameters (domain shift)"),
    "adapt": ("adapt", "test-time adaptation: fine-tune an image agent's encoder on unlabelled frames of a new domain"),
    "compare": ("compare", "compare runs across seeds and settings (mean, median, IQM with a bootstrap interval)"),
    "plot": ("plot", "plot one run's learning curve"),
    "sweep": ("sweep", "train a grid of algorithms x envs x seeds; run it again to continue"),
    "tune": ("tune", "tune an algorithm's hyperparameters on an env (Optuna); run it again to continue"),
    "attack": ("attack", "attack a trained agent: return against epsilon per attack and for the worst"),
    "continual": ("continual", "train through a sequence of tasks: forgetting, transfer, R(i, j) (life-long learning)"),
    "meta": ("meta", "meta-learning: an initialisation that adapts fast to held-out tasks (Reptile, FOMAML)"),
    "pretrain": ("pretrain", "pre-train a backbone as an auto-encoder on an environment's frames"),
    "compress": ("compress", "a smaller agent from a trained one: distil, prune or int8, as a new run directory"),
}


def usage() -> str:
    lines = ["usage: gymsuite COMMAND [ARGS]  (gymsuite COMMAND --help for its options)", "", "commands:"]
    lines += [f"  {name:14s} {summary}" for name, (_, summary) in COMMANDS.items()]
    return "\n".join(lines)


def dispatch(args: list[str]) -> int:
    """Run the command named by ``args[0]`` with the rest of ``args``."""
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        raise UserError(f"unknown command {name!r}", closest_hint(name, COMMANDS, "commands (gymsuite --help)"))
    module = importlib.import_module(f"gymsuite.commands.{COMMANDS[name][0]}")
    return module.main(rest)


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``argv`` (default ``sys.argv[1:]``) to a command; returns its exit code."""
    return _cli.run(dispatch, argv)


if __name__ == "__main__":
    sys.exit(main())
