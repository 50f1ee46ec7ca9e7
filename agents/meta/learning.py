"""``gymsuite meta``: learn an initialisation on a task family, adapt it to held-out tasks, compare with baselines.

A meta directory ``D`` holds::

    plan.json                 what was asked (the same call again resumes; another plan is refused)
    METHOD/memory/task_0.pt   the initialisation's policy (continual learning's memory format); Reptile's also its
                              meta-iteration and the tasks it sampled (its resume state, written after each iteration)
    METHOD/init/              the initialisation as an ordinary run directory (evaluate and record take it)
    METHOD/adapted_J/         held-out task J after ``adapt_steps`` env steps of PPO from the initialisation
    progress.json             the returns so far; results.json the table (:func:`summarize`)

Methods:

* ``reptile``: each iteration k samples ``meta_batch`` tasks from the family (seeded by the seed and k), trains PPO
  from the meta-weights ``phi`` for ``inner_steps`` on each (a fresh optimiser, as Nichol et al. do), and moves
  ``phi`` toward the adapted weights with step size ``epsilon_k = step_size * (1 - k / iterations)``
  (annealed linearly, as in the paper; :func:`gymsuite.supervised.metalearning.reptile_step`).
* ``fomaml``: the same iterations, but each task's inner training is followed by a query rollout on it, and the
  gradient of PPO's loss there at the adapted weights (:func:`gymsuite.agents.meta.query.query_gradient`, clipped
  to PPO's ``max_grad_norm``) moves ``phi`` by ``-epsilon_k`` times their mean
  (:func:`gymsuite.supervised.metalearning.fomaml_step`): first-order MAML with plain SGD as the outer optimiser.
* ``multitask``: one PPO run of ``timesteps`` on a mixture of :data:`MIXTURE` tasks sampled from the family, one
  drawn per episode (the baseline the course insists on).
* ``scratch``: the seed's fresh initialisation.
* ``rl2``: a recurrent policy meta-trained on trials of the family, adapting in its hidden state
  (:mod:`gymsuite.agents.meta.rl2`: ``rl2/init``, no ``adapted_J``).

Each held-out task is evaluated (greedy, ``eval_episodes``) with the initialisation before and after adaptation.
Ctrl-C or SIGTERM stops between Reptile iterations (the state after the last whole iteration is kept) or inside a
run (its checkpoint); the same call continues.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gymsuite.agents.files.rundir import RunDir
from gymsuite.agents.meta.plan import MIXTURE, MetaPlan, run_config
from gymsuite.agents.meta.query import query_gradient
from gymsuite.agents.meta.rl2 import rl2_row, run_rl2
from gymsuite.agents.run import training
from gymsuite.agents.run.config import to_dict
from gymsuite.agents.run.continual import read_memory, save_memory
from gymsuite.agents.saved.evaluation import evaluate
from gymsuite.agents.saved.loading import load_agent, make_agent_env
from gymsuite.common import signals
from gymsuite.common.files import atomic_write, claim_dir, write_json, write_yaml
from gymsuite.common.signals import StopSignals
from gymsuite.common.stats import iqm, iqm_ci
from gymsuite.envs.tasks import Task, sample_tasks, task_env_kwargs
from gymsuite.supervised.metalearning import fomaml_step, reptile_step


class MetaStopped(signals.Stopped):
    """Ctrl-C or SIGTERM stopped ``gymsuite meta`` (its state is saved): ``signum``."""


@dataclass
class MetaOutcome:
    """What :func:`run_meta` returns: the results (empty when interrupted) and the signal that stopped it."""

    results: dict[str, Any]
    interrupted: bool = False
    signum: int = 0
    where: str = ""


def _open_dir(plan: MetaPlan, root: Path) -> dict[str, Any]:
    """Create ``root`` for ``plan`` or check it holds the same plan; the progress so far."""
    claim_dir(root, plan.as_dict(), "meta-learning run", "meta-learning")
    progress = root / "progress.json"
    return json.loads(progress.read_text()) if progress.is_file() else {}


def _policy(model: Any) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone().cpu() for k, v in model.policy.state_dict().items()}


def _save_init(policy: dict[str, torch.Tensor], memory: Path, extra: dict[str, Any] | None = None) -> None:
    save_memory({"policy": policy, "states": torch.zeros(0), **(extra or {})}, memory / "task_0.pt")


def _write_run(cfg: Any, run_dir: Path) -> None:
    """An ordinary run directory holding ``cfg``'s model as built (its ``continual.memory`` loaded), untrained."""
    built = training.prepare(cfg)
    try:
        if run_dir.exists():
            shutil.rmtree(run_dir)
        run = RunDir(run_dir)
        run.create()
        write_yaml(run.config, to_dict(built.resolved.config))
        atomic_write(run.model, lambda p: built.model.save(p))
    finally:
        built.venv.close()


def meta_train(plan: MetaPlan, family: Sequence[Task], memory: Path, first_order: bool = False,
               on_iteration: Callable[[int], None] | None = None) -> None:
    """Reptile's (or, ``first_order``, FOMAML's) meta-training into ``memory/task_0.pt`` (resumed from it); see the
    module docstring.

    ``on_iteration(k)``: called after iteration k is saved (a test's interruption, a benchmark's probe).
    """
    state_file = memory / "task_0.pt"
    if state_file.is_file():
        state = read_memory(state_file)
    else:
        built = training.prepare(run_config(plan, sample_tasks(family, 1, plan.seed), plan.inner_steps, plan.seed))
        built.venv.close()
        state = {"policy": _policy(built.model), "iteration": 0, "tasks": []}
        _save_init(state["policy"], memory, {"iteration": 0, "tasks": []})
    meta, k0, sampled = state["policy"], int(state["iteration"]), list(state["tasks"])
    for k in range(k0, plan.iterations):
        tasks = sample_tasks(family, plan.meta_batch, plan.seed * 1_000_003 + k)  # the sampler: seed and iteration
        adapted = []
        for j, task in enumerate(tasks):
            seed = plan.seed * 1_000_003 + k * plan.meta_batch + j
            built = training.prepare(run_config(plan, [task], plan.inner_steps, seed, str(memory.resolve())))
            try:
                built.model.learn(plan.inner_steps)  # the support set: PPO's own training on the task
                adapted.append(query_gradient(built.model) if first_order else _policy(built.model))
            finally:
                built.venv.close()
        step = plan.step_size * (1 - k / plan.iterations)
        meta = fomaml_step(meta, adapted, step) if first_order else reptile_step(meta, adapted, step)
        sampled.append([t.text for t in tasks])
        _save_init(meta, memory, {"iteration": k + 1, "tasks": sampled})
        if on_iteration is not None:
            on_iteration(k)


def _evaluate(run_dir: Path, task: Task, plan: MetaPlan, j: int, row: dict[str, Any], when: str) -> None:
    """The greedy mean return on held-out task ``j`` into ``row[when][j]``, and where the task reports success
    (Meta-World's), the share of episodes that succeeded into ``row["success_" + when][j]``."""
    agent = load_agent(str(run_dir))
    venv = make_agent_env(agent, seed=plan.seed + 20_000 + 100 * j, n_envs=min(plan.eval_episodes, 5),
                          env_kwargs=task_env_kwargs([task]))
    try:
        summary = evaluate(agent, venv, plan.eval_episodes)
    finally:
        venv.close()
    row[when][str(j)] = float(summary["mean_return"])
    if "success_rate" in summary:
        row.setdefault(f"success_{when}", {})[str(j)] = float(summary["success_rate"])


def _initialise(plan: MetaPlan, method: str, family: Sequence[Task], base: Path,
                on_iteration: Callable[[int], None] | None) -> training.TrainResult | None:
    """The method's initialisation: ``base/memory/task_0.pt`` and the run directory ``base/init``."""
    memory, init = base / "memory", base / "init"
    mixture = sample_tasks(family, MIXTURE, plan.seed)
    if method == "multitask":
        result = training.train_or_resume(run_config(plan, mixture, plan.timesteps, plan.seed), init, ())
        if result is not None and result.interrupted:
            return result
        _save_init(_policy(load_agent(str(init)).model), memory)
        return None
    if method in ("reptile", "fomaml"):
        meta_train(plan, family, memory, method == "fomaml", on_iteration)
        _write_run(run_config(plan, mixture, plan.timesteps, plan.seed, str(memory.resolve())), init)
    else:  # scratch: the seed's fresh initialisation, as the adaptation runs would build it
        _write_run(run_config(plan, mixture, plan.timesteps, plan.seed), init)
        _save_init(_policy(load_agent(str(init)).model), memory)
    return None


def _method(plan: MetaPlan, method: str, family: Sequence[Task], test: Sequence[Task], root: Path,
            progress: dict[str, Any], on_iteration: Callable[[int], None] | None) -> training.TrainResult | None:
    if method == "rl2":
        return run_rl2(plan, family, test, root, progress)
    base = root / method
    row = progress.setdefault(method, {"before": {}, "after": {}})
    if not (base / "memory" / "task_0.pt").is_file() or not (base / "init" / "config.yaml").is_file() \
            or (method in ("reptile", "fomaml")
                and int(read_memory(base / "memory" / "task_0.pt")["iteration"]) < plan.iterations):
        result = _initialise(plan, method, family, base, on_iteration)
        if result is not None:
            return result
    memory = str((base / "memory").resolve())
    for j, task in enumerate(test):
        if str(j) in row["after"]:
            continue
        _evaluate(base / "init", task, plan, j, row, "before")
        cfg = run_config(plan, [task], plan.adapt_steps, plan.seed + 10_000 + j, memory)
        result = training.train_or_resume(cfg, base / f"adapted_{j}", ())
        if result is not None and result.interrupted:
            return result
        _evaluate(base / f"adapted_{j}", task, plan, j, row, "after")
        write_json(root / "progress.json", progress)
    return None


def run_meta(plan: MetaPlan, family: Sequence[Task], test: Sequence[Task], root: str | Path,
             on_iteration: Callable[[int], None] | None = None) -> MetaOutcome:
    """Run (or continue) ``plan`` in ``root`` and write ``results.json``; see the module docstring."""
    root = Path(root)
    progress = _open_dir(plan, root)
    with StopSignals() as stop:  # between runs, SIGTERM stops like Ctrl-C; the runs take their own
        try:
            for method in plan.methods:
                result = _method(plan, method, family, test, root, progress, on_iteration)
                if result is not None and result.interrupted:
                    return MetaOutcome({}, True, result.signum, method)
        except KeyboardInterrupt:
            return MetaOutcome({}, True, stop.interrupted(), "between runs")
    results = summarize(plan, progress)
    write_json(root / "results.json", results)
    return MetaOutcome(results)


def _stats(values: list[float]) -> dict[str, Any]:
    return {"iqm": iqm(values), "ci": list(iqm_ci(values))}


def summarize(plan: MetaPlan, progress: dict[str, Any]) -> dict[str, Any]:
    """``results.json``: per method, the return on each held-out task before and after adaptation, and their IQM
    with a 95% percentile-bootstrap interval over the held-out tasks; where the tasks report success (Meta-World),
    also each task's success rate (the share of its episodes in which ``info["success"]`` was ever 1) before and
    after, and their mean (Meta-World's figure) with the IQM."""
    n = len(plan.test)
    methods: dict[str, dict[str, Any]] = {}
    for method in plan.methods:
        row = progress[method]
        if method == "rl2":
            methods[method] = rl2_row(plan, row)
            continue
        before = [row["before"][str(j)] for j in range(n)]
        after = [row["after"][str(j)] for j in range(n)]
        methods[method] = {"before": before, "after": after, "before_iqm": _stats(before), "after_iqm": _stats(after),
                           "init": f"{method}/init", "adapted": [f"{method}/adapted_{j}" for j in range(n)]}
        for when in ("before", "after"):
            rates = row.get(f"success_{when}", {})
            if len(rates) == n:
                values = [rates[str(j)] for j in range(n)]
                methods[method].update({f"success_{when}": values, f"success_{when}_mean": float(sum(values) / n),
                                        f"success_{when}_iqm": _stats(values)})
    return {"family": list(plan.family), "test": list(plan.test), "seed": plan.seed, "algo": plan.algo,
            "timesteps": plan.timesteps, "adapt_steps": plan.adapt_steps, "meta_batch": plan.meta_batch,
            "inner_steps": plan.inner_steps, "iterations": plan.iterations, "trials": plan.trials, "methods": methods}


__all__ = ["MetaOutcome", "MetaStopped", "meta_train", "run_meta", "summarize"]
