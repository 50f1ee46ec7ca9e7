"""``gymsuite continual``: train through a sequence of tasks, evaluate after each on every task, keep R(i, j).

A continual directory ``D`` holds::

    plan.json           what was asked (a second call with the same plan resumes; another plan is refused)
    task_0/ task_1/ ... one ordinary run directory per task (multitask: multitask/), env gymsuite/Tasks-v0
    memory/task_K.pt    what later tasks keep of task K: its policy, states, action distribution, Fisher
    progress.json       R's rows so far (written atomically after each task)
    results.json        R, its normalised form and the metrics (:mod:`gymsuite.agents.continual.metrics`); on tasks
                        that report success (Meta-World's: :mod:`gymsuite.envs.metaworld`) also the success-rate
                        matrix and its metrics under ``success`` (Continual World's figures are success rates)

Methods: ``finetune`` (each task starts from the previous task's policy), ``ewc``, ``l2``, ``replay`` (the same,
plus a penalty keeping the earlier tasks: :mod:`gymsuite.agents.run.continual`), ``packnet`` (the actor's weights
shared out, pruned and frozen per task: :mod:`gymsuite.agents.run.packnet`), ``progressive`` (a new column per
task beside the frozen earlier ones: :mod:`gymsuite.supervised.progressive`; task j is evaluated with its own
column, task j's model), ``multitask`` (one agent on every
task at once, a task drawn per episode: the upper bound; budget T x steps), ``single`` (a fresh agent per task:
the reference). Ctrl-C or SIGTERM stops a task's run with a checkpoint (resumed by the run machinery, exactly from a
periodic one: :attr:`gymsuite.envs.taskenv.TaskEnv.state`) or stops between tasks; calling again with the same
arguments continues.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

from gymsuite.agents.algorithms import registry
from gymsuite.agents.continual.metrics import final_metrics, sequence_metrics, top_scores
from gymsuite.agents.run import training
from gymsuite.agents.run.config import build_config, defaults_for
from gymsuite.agents.run.continual import DEFAULT_COEF, actor_parameters, make_memory, read_memory, save_memory
from gymsuite.agents.run.packnet import claim, masked_state, matrices, owners
from gymsuite.agents.saved.evaluation import evaluate
from gymsuite.agents.saved.loading import LoadedAgent, load_agent, make_agent_env
from gymsuite.common import signals
from gymsuite.common.errors import UserError
from gymsuite.common.files import claim_dir, write_json
from gymsuite.common.signals import StopSignals
from gymsuite.envs.tasks import (
    TASK_ENV_ID,
    Task,
    build_task,
    check_tasks,
    parse_tasks,
    resolve_task,
    task_env_kwargs,
)

SEQUENTIAL = ("finetune", "ewc", "l2", "replay", "packnet", "progressive")
PENALISED = ("ewc", "l2", "replay", "packnet", "progressive")
COLUMN = [64, 64]  # progressive: each column's hidden widths
PRUNE_AT = 0.75  # packnet: each task prunes after this share of its budget and trains its own weights for the rest
METHODS = (*SEQUENTIAL, "multitask", "single")
ONE_NETWORK = "trains one network on every task"


@dataclass(frozen=True)
class Plan:
    """What ``gymsuite continual`` was asked: saved as ``plan.json``."""

    tasks: tuple[str, ...]
    method: str
    steps_per_task: int
    seed: int = 0
    algo: str = "ppo"
    coef: float | None = None
    hyperparams: Mapping[str, Any] = field(default_factory=dict)
    eval_episodes: int = 10
    memory_states: int = 1000
    fisher_states: int = 200
    task_ids: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tasks": list(self.tasks), "hyperparams": dict(self.hyperparams)}


class Stopped(signals.Stopped):
    """Ctrl-C or SIGTERM stopped a sequence (its state is saved): ``signum`` and the ``task`` it stopped in."""

    def __init__(self, message: str, signum: int, task: int) -> None:
        super().__init__(message, signum)
        self.task = task


@dataclass
class Outcome:
    """What :func:`run_continual` returns: the results (empty when interrupted) and whether it was stopped."""

    results: dict[str, Any]
    interrupted: bool = False
    signum: int = 0
    task: int = 0


def make_plan(tasks: str | Sequence[str], method: str, steps_per_task: int, seed: int = 0, algo: str = "ppo",
              coef: float | None = None, hyperparams: Mapping[str, Any] | None = None,
              eval_episodes: int = 10, task_ids: bool = True) -> tuple[Plan, list[Task]]:
    """The checked plan of a sequence (nothing built but each task's env, once), and the tasks the agents see:
    with ``task_ids``, each task ``i`` of ``T`` with ``taskid=i/T`` (a one-hot id appended to its observation, as
    Continual World gives it; a task that sets its own ``taskid`` keeps it; images, MiniGrid's, get none).

    Raises:
        UserError: an unknown method or algorithm, fewer than two tasks, a bad task, spaces that differ where the
            method trains one network on every task, a budget below 1.
    """
    if method not in METHODS:
        raise UserError(f"unknown method {method!r}", f"choose one of {', '.join(METHODS)}")
    registry.get(algo)  # an unknown algorithm, with close names
    if steps_per_task < 1 or eval_episodes < 1:
        raise UserError("--steps-per-task and --eval-episodes must be at least 1", "pass e.g. --steps-per-task 50000")
    given = parse_tasks(tasks)
    task_ids = task_ids and _vector_observation(given[0])
    parsed = [_with_id(t, i, len(given)) for i, t in enumerate(given)] if task_ids else given
    if len(parsed) < 2:
        raise UserError(f"continual learning needs a sequence of at least two tasks, got {len(parsed)}",
                        "separate tasks with ';': --tasks 'CartPole-v1; CartPole-v1 permute=3,2,1,0'")
    why = ONE_NETWORK if method != "single" else "each agent is evaluated on every task"
    check_tasks(parsed, f"--method {method} {why} (no method allows different spaces yet)")
    spec = registry.get(algo)
    if method in PENALISED and not (issubclass(spec.cls, OnPolicyAlgorithm) and spec.learn is None):
        raise UserError(f"--method {method} changes an on-policy actor-critic's update, not {spec.name}'s",
                        "use --algo ppo or a2c, or --method finetune, multitask or single")
    plan = Plan(tuple(t.text for t in given), method, int(steps_per_task), int(seed), spec.name,
                coef, dict(hyperparams or {}), int(eval_episodes), task_ids=task_ids)
    _config(plan, parsed[:1], 0, Path("."), plan.steps_per_task)  # the hyperparameters, before anything is written
    return plan, parsed


def _vector_observation(task: Task) -> bool:
    """Whether ``task`` observes a vector (a 1-D ``Box``), the observations a task id can be appended to."""
    env = build_task(resolve_task(task))
    try:
        space = env.observation_space
        return isinstance(space, gym.spaces.Box) and len(space.shape) == 1
    finally:
        env.close()


def _with_id(task: Task, i: int, n: int) -> Task:
    if "taskid" in dict(task.modifiers):
        return task
    return Task(task.env, (*task.modifiers, ("taskid", f"{i}/{n}")))


def _open_dir(plan: Plan, root: Path) -> dict[str, Any]:
    """Create ``root`` for ``plan`` or check it holds the same plan; the progress so far."""
    claim_dir(root, plan.as_dict(), "continual sequence", "continual")
    progress = root / "progress.json"
    return json.loads(progress.read_text()) if progress.is_file() else {"rows": {}}


def _hyperparams(plan: Plan, tasks: Sequence[Task], previous: int, root: Path) -> dict[str, Any]:
    """A task's run hyperparameters: the algorithm's defaults for the tasks' env, the user's, the task, and
    (a later task of a sequential method) ``continual``."""
    hyper = {**defaults_for(plan.algo, tasks[0].env, given=plan.hyperparams), **plan.hyperparams,
             "env_kwargs": task_env_kwargs(tasks)}
    if plan.method in SEQUENTIAL and (previous > 0 or plan.method == "packnet"):
        coef = plan.coef if plan.coef is not None else DEFAULT_COEF[plan.method]
        hyper["continual"] = {"method": plan.method, "coef": coef, "memory": str((root / "memory").resolve()),
                              "previous": previous}
        if plan.method == "packnet":
            hyper["continual"].update({"tasks": len(plan.tasks), "prune_at": int(PRUNE_AT * plan.steps_per_task)})
    if plan.method == "progressive":  # column k for task k; the heads read it directly
        hyper.update({"backbone": "progressive", "backbone_kwargs": {"columns": previous + 1, "net_arch": COLUMN},
                      "policy_kwargs": {**(hyper.get("policy_kwargs") or {}), "net_arch": [],
                                        "share_features_extractor": False}})  # the actor's and the critic's columns
    return hyper


def _config(plan: Plan, tasks: Sequence[Task], previous: int, root: Path, steps: int) -> Any:
    return build_config({"algo": plan.algo, "env": TASK_ENV_ID, "timesteps": steps, "seed": plan.seed,
                         "eval_episodes": plan.eval_episodes, "eval_freq": 0},
                        overrides=_hyperparams(plan, tasks, previous, root))


Row = tuple[list[float], list[float] | None]  # a row of R, and of the success rates (None: a task reports none)


def _evaluate_row(agent: LoadedAgent, tasks: Sequence[Task], plan: Plan,
                  owner: Mapping[str, Any] | None = None, first: int = 0) -> Row:
    """The agent's mean return on every task (``eval_episodes``, greedy, the same env seeds for every row; ``tasks``
    start at task ``first``), and its success rate on each where every task reports success (else None); with
    PackNet's ``owner`` map, task k with the weights of tasks 0..k only."""
    row: list[float] = []
    success: list[float] | None = []
    full = {k: v.clone() for k, v in agent.model.policy.state_dict().items()} if owner and agent.model else None
    for k, task in enumerate(tasks, start=first):
        venv = make_agent_env(agent, seed=plan.seed + 20_000 + 100 * k, n_envs=min(plan.eval_episodes, 5),
                              env_kwargs=task_env_kwargs([task]))
        try:
            if full is not None and owner is not None and agent.model is not None:
                agent.model.policy.load_state_dict(masked_state(full, owner, k))
            summary = evaluate(agent, venv, plan.eval_episodes)
        finally:
            venv.close()
        row.append(float(summary["mean_return"]))
        success = None if success is None or "success_rate" not in summary else \
            [*success, float(summary["success_rate"])]
    if full is not None and agent.model is not None:
        agent.model.policy.load_state_dict(full)
    return row, success


def _keep(progress: dict[str, Any], key: str, row: Row) -> None:
    """Row ``row`` of R under ``progress[key]`` (``rows`` holds one per stage: ``key`` is ``rows/I``), its success
    rates under ``success_`` + ``key``."""
    for prefix, values in (("", row[0]), ("success_", row[1])):
        if values is None:
            continue
        if key.startswith("rows/"):
            progress.setdefault(f"{prefix}rows", {})[key[5:]] = values
        else:
            progress[f"{prefix}{key}"] = values


def _initial_row(plan: Plan, tasks: Sequence[Task], root: Path) -> Row:
    """Row 0 of R: the untrained policy (the seed's initialisation) on every task."""
    built = training.prepare(_config(plan, tasks[:1], 0, root, plan.steps_per_task))
    try:
        cfg = built.resolved.config
        agent = LoadedAgent(built.model, cfg.algo, cfg.env, None, dict(cfg.hyperparams))
        return _evaluate_row(agent, tasks, plan)
    finally:
        built.venv.close()


def _save_progress(root: Path, progress: dict[str, Any]) -> None:
    write_json(root / "progress.json", progress)


def _stage(plan: Plan, tasks: Sequence[Task], i: int, root: Path, progress: dict[str, Any],
           callbacks: Sequence[BaseCallback]) -> training.TrainResult | None:
    """Train stage ``i`` (task i, or the one multitask run), evaluate it on every task, keep its memory."""
    if plan.method == "multitask":
        name, trained, previous, steps = "multitask", list(tasks), 0, plan.steps_per_task * len(tasks)
    else:
        name, trained, steps = f"task_{i}", [tasks[i]], plan.steps_per_task
        previous = i if plan.method in SEQUENTIAL else 0
    run_dir = root / name
    result = training.train_or_resume(_config(plan, trained, previous, root, steps), run_dir, callbacks)
    if result is not None and result.interrupted:
        return result
    agent = load_agent(str(run_dir))
    owner = None
    if plan.method in SEQUENTIAL and (i < len(tasks) - 1 or plan.method == "packnet"):
        memory_env = make_agent_env(agent, seed=plan.seed + 30_000 + i, n_envs=1)
        try:
            assert agent.model is not None
            memory = make_memory(agent.model, memory_env, plan.memory_states, plan.fisher_states, plan.seed + i)
        finally:
            memory_env.close()
        if plan.method == "packnet":
            weights = matrices(actor_parameters(agent.model.policy))
            before = read_memory(root / "memory" / f"task_{i - 1}.pt") if i > 0 else None
            owner = memory["owner"] = claim(owners(before, weights), weights, i)
        save_memory(memory, root / "memory" / f"task_{i}.pt")
    returns, success = _evaluate_row(agent, tasks, plan, owner)
    if plan.method == "progressive":  # task j < i: its own column and heads, unchanged since (task j's model)
        for j in range(i):
            own, own_success = _evaluate_row(load_agent(str(root / f"task_{j}")), tasks[j:j + 1], plan, first=j)
            returns[j] = own[0]
            if success is not None and own_success is not None:
                success[j] = own_success[0]
    _keep(progress, f"rows/{i}", (returns, success))
    _save_progress(root, progress)
    return result


def run_continual(plan: Plan, tasks: Sequence[Task], root: str | Path,
                  callbacks: Sequence[BaseCallback] = ()) -> Outcome:
    """Run (or continue) ``plan`` in ``root`` and write ``results.json``; see the module docstring.

    ``callbacks``: extra SB3 callbacks given to each task's new run (a benchmark's probe, a test's interruption).
    """
    root = Path(root)
    progress = _open_dir(plan, root)
    stages = 1 if plan.method == "multitask" else len(tasks)
    with StopSignals() as stop:  # between tasks, SIGTERM stops like Ctrl-C; the runs take their own
        try:
            if "initial" not in progress:
                _keep(progress, "random", _evaluate_row(load_agent("random", env=TASK_ENV_ID), tasks, plan))
                _keep(progress, "initial", _initial_row(plan, tasks, root))
                _save_progress(root, progress)
            for i in range(stages):
                if str(i) in progress["rows"]:
                    continue
                result = _stage(plan, tasks, i, root, progress, callbacks)
                if result is not None and result.interrupted:
                    return Outcome({}, True, result.signum, i)
        except KeyboardInterrupt:
            return Outcome({}, True, stop.interrupted(), len(progress["rows"]))
    results = summarize(plan, tasks, progress)
    write_json(root / "results.json", results)
    return Outcome(results)


def _thresholds(tasks: Sequence[Task]) -> list[float | None]:
    out: list[float | None] = []
    for task in tasks:
        spec = gym.spec(task.env) if task.env in gym.registry else None
        out.append(None if spec is None or spec.reward_threshold is None else float(spec.reward_threshold))
    return out


def summarize(plan: Plan, tasks: Sequence[Task], progress: Mapping[str, Any]) -> dict[str, Any]:
    """``results.json``: R (returns), its rows' labels, the normalisation and the metrics of the method."""
    t = len(tasks)
    stages = 1 if plan.method == "multitask" else t
    rows = [progress["initial"], *(progress["rows"][str(i)] for i in range(stages))]
    matrix = np.asarray(rows, dtype=float)
    low = np.asarray(progress["random"], dtype=float)
    high = top_scores(matrix, _thresholds(tasks))
    out: dict[str, Any] = {"method": plan.method, "algo": plan.algo, "tasks": list(plan.tasks), "seed": plan.seed,
                           "steps_per_task": plan.steps_per_task,
                           "task_ids": plan.task_ids,
                           "rows": ["initial", *(["after all tasks"] if stages == 1 else
                                                 [f"after task {i}" for i in range(t)])],
                           "matrix": matrix.tolist(), "low": low.tolist(), "high": high,
                           "runs": ["multitask"] if stages == 1 else [f"task_{i}" for i in range(t)]}
    if plan.method in SEQUENTIAL:
        out.update(sequence_metrics(matrix, low, high))
    else:  # multitask: its final row; single: each task's own agent (R's diagonal)
        final = matrix[-1] if plan.method == "multitask" else np.diag(matrix[1:])
        out.update(final_metrics(final, low, high))
        out.update({"backward_transfer": None, "forward_transfer": None, "forgetting": None})
    success = _success(plan, progress, stages)
    if success is not None:
        out["success"] = success
    return out


def _success(plan: Plan, progress: Mapping[str, Any], stages: int) -> dict[str, Any] | None:
    """The success-rate matrix S (``(T + 1, T)``, rows as R's) and its metrics, already in [0, 1] as Continual World
    reports them (no normalisation: ``forgetting`` is -BWT on S), where every task reported success; else None."""
    rows = progress.get("success_rows", {})
    if "success_initial" not in progress or any(str(i) not in rows for i in range(stages)):
        return None
    matrix = np.asarray([progress["success_initial"], *(rows[str(i)] for i in range(stages))], dtype=float)
    t = matrix.shape[1]
    zeros, ones = np.zeros(t), np.ones(t)
    keep: tuple[str, ...]
    if plan.method in SEQUENTIAL:
        metrics = sequence_metrics(matrix, zeros, ones)
        keep = ("average_performance", "backward_transfer", "forward_transfer", "forgetting")
    else:
        metrics = final_metrics(matrix[-1] if plan.method == "multitask" else np.diag(matrix[1:]), zeros, ones)
        keep = ("average_performance",)
    return {"matrix": matrix.tolist(), "random": list(progress.get("success_random", [])),
            **{k: metrics[k] for k in keep}}


__all__ = ["METHODS", "Outcome", "Plan", "Stopped", "make_plan", "run_continual", "summarize"]
