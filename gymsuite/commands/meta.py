"""Meta-learning: learn an initialisation on a task family that adapts fast to held-out tasks.

    gymsuite meta --family "CartPole-v1 length=0.5x:2x masspole=0.5x:2x" --test "CartPole-v1 length=3x" \\
        --method reptile,multitask,scratch --timesteps 100000 --adapt-steps 5000 --dir runs/meta
    gymsuite meta --family family.yml --test "CartPole-v1 length=3x" --method reptile --timesteps 50000 \\
        --adapt-steps 5000 --dir runs/meta-r --json
    gymsuite meta --family "gymsuite/TwoArmedBandit-v0 p0=0:1 p1=0:1" --test "gymsuite/TwoArmedBandit-v0 p0=0:1 \\
        p1=0:1" --test-tasks 20 --method rl2 --trials 1 --timesteps 300000 --dir runs/rl2-bandit \\
        --hyperparams gamma=0.9

The family gives LOW:HIGH ranges to sample tasks from (the task format of gymsuite continual); the held-out
--test tasks must lie outside them. Meta-World's ML1 is a family of goals (its test split held out):

    gymsuite meta --family "metaworld:ML1/reach-v3 task=0:49" --test "metaworld:ML1/reach-v3 split=test task=0:9" \\
        --method reptile,multitask,scratch --timesteps 100000 --adapt-steps 10240 --eval-episodes 1 --dir runs/ml1 \\
        --hyperparams n_envs=4 n_steps=512 batch_size=256 n_epochs=5

and there the table also gives each method's success rate (Meta-World's protocol: an episode succeeds if
info["success"] is ever 1). Methods: reptile (PPO on sampled tasks for --inner-steps from the meta-weights,
then the meta-weights move toward the adapted ones), fomaml (first-order MAML: the gradient of PPO's loss on a
query rollout at the adapted weights, applied to the meta-weights), multitask (one PPO run on a per-episode
mixture of the family: the baseline), scratch (a fresh initialisation), rl2 (RL^2: an LSTM policy trained on
trials of --trials episodes of one task, with the previous action, reward and done flag in its observation; it
adapts in its hidden state, without gradient steps); several, comma-separated, make one table. A --test task with
LOW:HIGH ranges stands for --test-tasks unseen draws from it.

Each held-out task is evaluated with the initialisation before and after --adapt-steps env steps of PPO from it
(rl2: the first and the last episode of a trial on it; --adapt-steps does not apply). DIR gets METHOD/init (the
initialisation as a run directory), METHOD/adapted_J (each adapted run), and results.json (the returns, their IQM
with a bootstrap interval). Ctrl-C or SIGTERM stops with the state saved (Reptile after each iteration); the same
command again continues.
"""

from __future__ import annotations

import json
import sys

from gymsuite.commands import _cli


def _table(results: dict) -> list[str]:
    adapting = [m for m in results["methods"] if m != "rl2"]
    lines = [f"return on the held-out tasks after {results['adapt_steps']} adaptation steps (IQM [95% CI])"
             if adapting else "return on the held-out tasks (IQM [95% CI])"]
    if "rl2" in results["methods"]:
        lines.append(f"rl2 adapts within a trial of {results['trials']} episode(s): before = its first episode, "
                     "after = its last")
    for method, row in results["methods"].items():
        b, a = row["before_iqm"], row["after_iqm"]
        lines.append(f"{method:10s} before {b['iqm']:7.1f} [{b['ci'][0]:.1f}, {b['ci'][1]:.1f}]   "
                     f"after {a['iqm']:7.1f} [{a['ci'][0]:.1f}, {a['ci'][1]:.1f}]")
        if "trial_iqm" in row:
            t = row["trial_iqm"]
            lines.append(f"{'':10s} trial  {t['iqm']:7.1f} [{t['ci'][0]:.1f}, {t['ci'][1]:.1f}]")
        lines += [f"  {t}: {x:.1f} -> {y:.1f}" for t, x, y in zip(results["test"], row["before"], row["after"],
                                                                    strict=True)]
        if "success_after" in row:  # Meta-World: the share of episodes that reached the goal, mean over the tasks
            lines.append(f"  success rate (mean over the held-out tasks) before {row['success_before_mean']:.0%}   "
                         f"after {row['success_after_mean']:.0%}")
    return lines


def main(argv: list[str] | None = None) -> int:
    from gymsuite.api import meta

    p = _cli.parser("meta", __doc__)
    p.add_argument("--family", required=True, metavar="SPEC", help="the training family (LOW:HIGH ranges), or YAML")
    p.add_argument("--test", required=True, metavar="SPEC", help="held-out tasks separated by ';', or a YAML file")
    p.add_argument("--method", required=True, metavar="M[,M...]",
                   help="reptile, fomaml, multitask, scratch, rl2 (comma-separated)")
    p.add_argument("--timesteps", type=int, required=True, metavar="N", help="meta-training env steps per method")
    p.add_argument("--adapt-steps", type=int, default=None, metavar="K",
                   help="adaptation env steps per test task (required except for rl2 alone)")
    p.add_argument("--dir", required=True, metavar="D", help="the meta directory (results.json, METHOD/...)")
    p.add_argument("--seed", type=int, default=0, help="seed of the task sampler, runs and evaluations (default 0)")
    p.add_argument("--meta-batch", type=int, default=2, metavar="M", help="tasks per meta-iteration (default 2)")
    p.add_argument("--inner-steps", type=int, default=2048, metavar="I",
                   help="PPO env steps on each task of an iteration (default 2048)")
    p.add_argument("--step-size", type=float, default=1.0,
                   help="Reptile's epsilon or FOMAML's outer learning rate, annealed to 0 (default 1.0)")
    p.add_argument("--eval-episodes", type=int, default=10, help="greedy episodes per test task per evaluation")
    p.add_argument("--hyperparams", nargs="*", default=[], metavar="KEY=VALUE",
                   help="PPO's hyperparameters (values read as YAML)")
    p.add_argument("--trials", type=int, default=2, metavar="K",
                   help="rl2: episodes of one task per trial, its hidden state kept across them (default 2; bandits 1)")
    p.add_argument("--test-tasks", type=int, default=10, metavar="N",
                   help="draws from each --test task given with LOW:HIGH ranges (default 10)")
    p.add_argument("--json", action="store_true", help="print results.json as one JSON object")
    args = p.parse_args(argv)
    from gymsuite.agents.run.config import parse_assignments

    # Ctrl-C or SIGTERM raise Stopped: _cli.run says how to continue and exits 128 + the signal
    results = meta(args.family, args.test, args.method, args.timesteps, args.adapt_steps, args.dir,
                   seed=args.seed, meta_batch=args.meta_batch, inner_steps=args.inner_steps,
                   step_size=args.step_size, eval_episodes=args.eval_episodes,
                   hyperparams=parse_assignments(args.hyperparams), trials=args.trials, test_tasks=args.test_tasks)
    if args.json:
        print(json.dumps(results))
        return 0
    print("\n".join(_table(results)))
    print(f"results: {args.dir}/results.json")
    return 0


if __name__ == "__main__":
    sys.exit(_cli.run(main))
