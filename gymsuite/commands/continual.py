"""Continual (life-long) learning: train through a sequence of tasks, measure forgetting and transfer.

    gymsuite continual --tasks "CartPole-v1; CartPole-v1 permute=3,2,1,0; CartPole-v1 signflip=true" \\
        --method ewc --steps-per-task 50000 --dir runs/cl-ewc
    gymsuite continual --tasks tasks.yml --method multitask --steps-per-task 50000 --dir runs/cl-mt --json

A task is an env spec with key=value modifiers: physics parameters (length=2x, gravity=15), observation
transforms (permute=2,0,3,1, signflip=true or signflip=0,2, taskid=K/N), constructor keywords (size=8); ';'
separates tasks; a YAML file with 'tasks: [...]' works too. Each task's observation gets a one-hot task id
(taskid=i/T, as Continual World gives it) unless --no-task-id. Methods: finetune, ewc, l2, replay, packnet,
progressive (in order, each task from the previous task's policy), multitask (all at once: the upper bound),
single (a fresh agent per task: the reference).

After each task the agent is evaluated on every task: R(i, j). DIR gets one run directory per task (evaluate and
record take them) and results.json: the matrix, average performance, backward transfer (forgetting) and forward
transfer as the course defines them, and normalised as Continual World does. Ctrl-C or SIGTERM stops with the
state saved; the same command again continues.
"""

from __future__ import annotations

import json
import sys

from gymsuite.commands import _cli


def _table(results: dict) -> list[str]:
    tasks = results["tasks"]
    lines = [f"R(i, j): mean return on task j ({results['method']}, {results['algo']})"]
    lines.append(f"{'':18s}" + "".join(f"{'task ' + str(j):>10s}" for j in range(len(tasks))))
    for label, row in zip(results["rows"], results["matrix"], strict=True):
        lines.append(f"{label:18s}" + "".join(f"{v:10.1f}" for v in row))
    for key in ("average_performance", "backward_transfer", "forward_transfer", "forgetting"):
        raw, norm = results.get(key), results.get(f"{key}_normalized")
        if raw is not None:
            lines.append(f"{key.replace('_', ' '):22s} {raw:8.3f}" + (f"  (normalised {norm:.3f})" if norm is not None
                                                                       else ""))
    success = results.get("success")
    if success is not None:  # Meta-World's tasks: the success rates, as Continual World reports them
        lines.append("success rate on task j (the share of episodes in which info['success'] was ever 1)")
        for label, row in zip(results["rows"], success["matrix"], strict=True):
            lines.append(f"{label:18s}" + "".join(f"{v:10.0%}" for v in row))
        for key in ("average_performance", "forgetting", "forward_transfer"):
            if success.get(key) is not None:
                lines.append(f"{key.replace('_', ' '):22s} {success[key]:8.3f}  (success rates)")
    lines += [f"task {j}: {t}" for j, t in enumerate(tasks)]
    return lines


def main(argv: list[str] | None = None) -> int:
    from gymsuite.agents.continual.sequence import METHODS
    from gymsuite.api import continual

    p = _cli.parser("continual", __doc__)
    p.add_argument("--tasks", required=True, metavar="SPEC", help="tasks separated by ';', or a YAML file")
    p.add_argument("--method", required=True, choices=METHODS, help="how the sequence is learned")
    p.add_argument("--steps-per-task", type=int, required=True, metavar="N", help="env steps per task")
    p.add_argument("--dir", required=True, metavar="D", help="the continual directory (results.json, task_K/)")
    p.add_argument("--seed", type=int, default=0, help="seed of every run and evaluation (default 0)")
    p.add_argument("--algo", default="ppo", help="the algorithm (default ppo; ewc, l2, replay: ppo or a2c)")
    p.add_argument("--coef", type=float, help="the penalty's weight (default: ewc 1000, l2 1, replay 1)")
    p.add_argument("--eval-episodes", type=int, default=10, help="greedy episodes per task per evaluation")
    p.add_argument("--hyperparams", nargs="*", default=[], metavar="KEY=VALUE",
                   help="the algorithm's hyperparameters (values read as YAML)")
    p.add_argument("--no-task-id", action="store_true",
                   help="do not append the one-hot task id (taskid=i/T) to each task's observation")
    p.add_argument("--json", action="store_true", help="print results.json as one JSON object")
    args = p.parse_args(argv)
    from gymsuite.agents.run.config import parse_assignments

    # Ctrl-C or SIGTERM raise Stopped: _cli.run says how to continue and exits 128 + the signal
    results = continual(args.tasks, args.method, args.steps_per_task, args.dir, seed=args.seed, algo=args.algo,
                        coef=args.coef, hyperparams=parse_assignments(args.hyperparams),
                        eval_episodes=args.eval_episodes, task_ids=not args.no_task_id)
    if args.json:
        print(json.dumps(results))
        return 0
    print("\n".join(_table(results)))
    print(f"results: {args.dir}/results.json")
    return 0


if __name__ == "__main__":
    sys.exit(_cli.run(main))
