"""What ``gymsuite meta`` was asked, checked before anything is written: the family, the held-out tasks, the methods.

A family is a task spec with ``LOW:HIGH`` ranges (:mod:`gymsuite.envs.tasks`), e.g.
``CartPole-v1 length=0.5x:2x masspole=0.5x:2x``, or Meta-World's ML1 train goals ``metaworld:ML1/reach-v3 task=0:49``;
the held-out ``--test`` tasks must lie outside it (a test task whose every ranged value falls inside a member's ranges
is refused: it would measure interpolation, not adaptation). ML1's ``split=test`` goals are outside by construction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from gymsuite.agents.run.config import build_config, defaults_for
from gymsuite.common.errors import UserError
from gymsuite.envs.tasks import (
    TASK_ENV_ID,
    Task,
    check_tasks,
    expand_tasks,
    parse_tasks,
    resolve_task,
    sample_tasks,
    task_env_kwargs,
    without_defaults,
)

METHODS = ("reptile", "fomaml", "multitask", "scratch")
LATER = {"rl2": "RL^2 is not built yet", "maml": "second-order MAML is not built (fomaml is its first-order form)"}
MIXTURE = 16  # tasks sampled from the family for multi-task training and as the init runs' env


@dataclass(frozen=True)
class MetaPlan:
    """What ``gymsuite meta`` was asked: saved as ``plan.json`` (a second call with the same plan resumes)."""

    family: tuple[str, ...]
    test: tuple[str, ...]
    methods: tuple[str, ...]
    timesteps: int
    adapt_steps: int
    seed: int = 0
    meta_batch: int = 2
    inner_steps: int = 2048
    step_size: float = 1.0
    eval_episodes: int = 10
    hyperparams: Mapping[str, Any] = field(default_factory=dict)
    algo: str = "ppo"

    @property
    def iterations(self) -> int:
        """Reptile's (and FOMAML's) meta-iterations: each trains ``meta_batch`` tasks for ``inner_steps``."""
        return self.timesteps // (self.meta_batch * self.inner_steps)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "family": list(self.family), "test": list(self.test), "methods": list(self.methods),
                "hyperparams": dict(self.hyperparams)}


def parse_methods(methods: str | Sequence[str]) -> tuple[str, ...]:
    """``"reptile,multitask"`` or a list, checked against :data:`METHODS`."""
    names = [m.strip() for m in (methods.split(",") if isinstance(methods, str) else methods) if m.strip()]
    if not names:
        raise UserError("--method names no method", f"choose from {', '.join(METHODS)} (comma-separated)")
    for name in names:
        if name in LATER:
            raise UserError(f"--method {name}: {LATER[name]}", f"use {', '.join(METHODS)}")
        if name not in METHODS:
            raise UserError(f"unknown method {name!r}", f"choose from {', '.join(METHODS)} (comma-separated)")
    return tuple(dict.fromkeys(names))


def _absolute(env: str, key: str, value: str) -> float | None:
    """The number ``key=value`` sets on ``env`` (a relative ``2x`` made absolute), or None if it is not a number."""
    try:
        resolved = resolve_task(Task(env, ((key, value),)))
    except UserError:
        return None
    if key in resolved.params:
        return float(resolved.params[key][1])
    number = resolved.kwargs.get(key)
    return float(number) if isinstance(number, int | float) else None


def inside(task: Task, member: Task) -> str | None:
    """Why held-out ``task`` lies inside family ``member`` (``"length 1.5x in 0.5x:2x"``), or None if outside."""
    task, member = without_defaults(task), without_defaults(member)  # split=train is ML1's default split
    if task.env != member.env:
        return None
    given, ranges = dict(task.modifiers), member.ranges
    fixed = {k: v for k, v in member.modifiers if k not in ranges}
    if {k: given.get(k) for k in fixed} != fixed or set(given) - set(dict(member.modifiers)):
        return None
    reasons = []
    for key, (low, high) in ranges.items():
        value = given.get(key, "1x")  # unset: the nominal value
        bounds = [_absolute(task.env, key, b) for b in (low, high)]
        number = _absolute(task.env, key, value)
        if number is None or None in bounds:
            return None
        lo, hi = min(b for b in bounds if b is not None), max(b for b in bounds if b is not None)
        if not lo <= number <= hi:
            return None
        reasons.append(f"{key}={value} in {low}:{high}")
    return ", ".join(reasons) or "the same task"


def _check_counts(**counts: int) -> None:
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UserError(f"--{name.replace('_', '-')} must be an integer of at least 1, got {value!r}")


def make_plan(family: str | Sequence[str], test: str | Sequence[str], methods: str | Sequence[str], timesteps: int,
              adapt_steps: int, seed: int = 0, meta_batch: int = 2, inner_steps: int = 2048, step_size: float = 1.0,
              eval_episodes: int = 10, hyperparams: Mapping[str, Any] | None = None
              ) -> tuple[MetaPlan, list[Task], list[Task]]:
    """The checked plan, the family's members and the held-out tasks (each task's env built once, nothing written).

    Raises:
        UserError: an unknown method; a count below 1; a seed below 0; a step size outside (0, 1]; a family
            without ``LOW:HIGH`` ranges; a held-out task inside the family; tasks whose spaces differ; a budget too
            small for one Reptile iteration; bad hyperparameters.
    """
    names = parse_methods(methods)
    _check_counts(timesteps=timesteps, adapt_steps=adapt_steps, meta_batch=meta_batch, inner_steps=inner_steps,
                  eval_episodes=eval_episodes)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UserError(f"--seed must be an integer of at least 0, got {seed!r}")
    if not 0 < step_size <= 1:
        raise UserError(f"--step-size must be in (0, 1], got {step_size}", "Reptile's epsilon: e.g. 1.0 (annealed)")
    members = parse_tasks(family, "--family")
    if not any(m.ranges for m in members):
        raise UserError(f"--family {'; '.join(m.text for m in members)!r} has no LOW:HIGH range to sample tasks from",
                        "give ranges, e.g. --family 'CartPole-v1 length=0.5x:2x masspole=0.5x:2x'")
    held_out = expand_tasks(parse_tasks(test, "--test"))  # task=0:9 (Meta-World's goals): ten held-out tasks
    for task in held_out:
        for member in members:
            why = inside(task, member)
            if why is not None:
                raise UserError(f"held-out task {task.text!r} lies inside the training family {member.text!r} "
                                f"({why})", "choose --test values outside the family's ranges, e.g. length=3x")
    check_tasks([*sample_tasks(members, 1, seed), *held_out],
                "meta-learning adapts one initialisation to every task (no method allows different spaces)")
    plan = MetaPlan(tuple(m.text for m in members), tuple(t.text for t in held_out), names, int(timesteps),
                    int(adapt_steps), int(seed), int(meta_batch), int(inner_steps), float(step_size),
                    int(eval_episodes), dict(hyperparams or {}))
    if {"reptile", "fomaml"} & set(names) and plan.iterations < 1:
        raise UserError(f"--timesteps {timesteps} is less than one meta-iteration (--meta-batch {meta_batch} x "
                        f"--inner-steps {inner_steps} = {meta_batch * inner_steps})",
                        "raise --timesteps or lower --meta-batch / --inner-steps")
    run_config(plan, held_out[:1], plan.adapt_steps, plan.seed)  # the hyperparameters, before anything is written
    return plan, members, held_out


def run_config(plan: MetaPlan, tasks: Sequence[Task], steps: int, seed: int, init: str | None = None) -> Any:
    """A run on ``tasks`` (one, or a per-episode mixture) for ``steps``; ``init``: the folder whose ``task_0.pt``
    holds the policy it starts from (continual learning's memory format: :mod:`gymsuite.agents.run.continual`)."""
    hyper = {**defaults_for(plan.algo, tasks[0].env), **plan.hyperparams, "env_kwargs": task_env_kwargs(tasks)}
    if init is not None:
        hyper["continual"] = {"method": "finetune", "memory": init, "previous": 1}
    return build_config({"algo": plan.algo, "env": TASK_ENV_ID, "timesteps": steps, "seed": seed,
                         "eval_episodes": plan.eval_episodes, "eval_freq": 0}, overrides=hyper)


__all__ = ["METHODS", "MIXTURE", "MetaPlan", "inside", "make_plan", "parse_methods", "run_config"]
