"""What ``gymsuite meta`` was asked, checked before anything is written: the family, the held-out tasks, the methods.

A family is a task spec with ``LOW:HIGH`` ranges (:mod:`gymsuite.envs.tasks`), e.g.
``CartPole-v1 length=0.5x:2x masspole=0.5x:2x``, or Meta-World's ML1 train goals ``metaworld:ML1/reach-v3 task=0:49``;
the held-out ``--test`` tasks must lie outside it (a test task whose every ranged value falls inside a member's ranges
is refused: it would measure interpolation, not adaptation). ML1's ``split=test`` goals are outside by construction.
A ``--test`` task with a whole-number range (``task=0:9``) lists every value; one with other ranges stands for
``test_tasks`` tasks drawn from it with a seed of its own: unseen draws of a distribution (Duan et al.'s bandits),
which may be the family's own.

``rl2`` (:mod:`gymsuite.agents.meta.rl2`) needs a recurrent engine (the algorithm's ``recurrent`` class), the lstm
backbone, a vector observation and ``trials`` episodes per trial; it adapts without gradient steps, so
``adapt_steps`` is only required when a gradient-adapting method is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from gymsuite.agents.algorithms import registry
from gymsuite.agents.run.config import build_config, defaults_for
from gymsuite.common.errors import UserError
from gymsuite.envs.taskenv import trial_env
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

METHODS = ("reptile", "fomaml", "multitask", "scratch", "rl2")
ADAPTING = ("reptile", "fomaml", "multitask", "scratch")  # the methods adapted by --adapt-steps of PPO
LATER = {"maml": "second-order MAML is not built (fomaml is its first-order form)"}
TRIALS_ENV_ID = "gymsuite/Trials-v0"  # RL²'s env: gymsuite.envs.taskenv.trial_env
# RL²'s PPO (sb3-contrib's RecurrentPPO through backbone=lstm): whole trials of a short family (bandits) per rollout,
# 8 epochs (a small policy, cheap rollouts), an entropy bonus against collapsing before exploring; gamma 0.99 for
# long episodes (CartPole), where bandits learn faster with gamma=0.9 (docs/chapters/rl2.md).
RL2_DEFAULTS: dict[str, Any] = {"backbone": "lstm", "n_envs": 8, "n_steps": 128, "batch_size": 256, "n_epochs": 8,
                                "gamma": 0.99, "gae_lambda": 0.95, "ent_coef": 0.01, "learning_rate": 1e-3}
TEST_SEED = 7_919  # held-out draws from a ranged --test use seed + TEST_SEED (the family's sampler never does)
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
    trials: int = 2

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


def held_out_tasks(test: str | Sequence[str], test_tasks: int, seed: int) -> list[Task]:
    """The held-out tasks of ``--test``: each fixed task as given, each whole-number range value by value
    (:func:`~gymsuite.envs.tasks.expand_tasks`), each other ranged task as ``test_tasks`` draws (seeded by ``seed +
    TEST_SEED`` and its place)."""
    out: list[Task] = []
    for i, task in enumerate(expand_tasks(parse_tasks(test, "--test"))):  # task=0:9 (Meta-World's goals): ten
        out += sample_tasks([task], test_tasks, seed + TEST_SEED + 1_000 * i) if task.ranges else [task]
    return out


def _check_rl2(plan: MetaPlan, members: Sequence[Task]) -> None:
    """RL²'s own checks: a recurrent engine, the lstm backbone, a family whose trials can be built."""
    if registry.get(plan.algo).recurrent is None:
        raise UserError(f"rl2 needs a recurrent policy, and {plan.algo} has no recurrent class",
                        f"use an algorithm that trains backbone=lstm: {', '.join(registry.recurrent_names())}")
    backbone = plan.hyperparams.get("backbone", "lstm")
    if backbone != "lstm":
        raise UserError(f"rl2's policy is the lstm backbone (its hidden state is the fast learner), not "
                        f"backbone={backbone}", "drop backbone= from --hyperparams (backbone_kwargs tunes the LSTM)")
    trial_env("; ".join(m.text for m in members), plan.trials).close()  # both ends of each range, the spaces
    rl2_config(plan, members, plan.timesteps, plan.seed)  # the hyperparameters, before anything is written


def make_plan(family: str | Sequence[str], test: str | Sequence[str], methods: str | Sequence[str], timesteps: int,
              adapt_steps: int | None, seed: int = 0, meta_batch: int = 2, inner_steps: int = 2048,
              step_size: float = 1.0, eval_episodes: int = 10, hyperparams: Mapping[str, Any] | None = None,
              trials: int = 2, test_tasks: int = 10) -> tuple[MetaPlan, list[Task], list[Task]]:
    """The checked plan, the family's members and the held-out tasks (each task's env built once, nothing written).

    Raises:
        UserError: an unknown method; a count below 1 (``adapt_steps`` only with a method that adapts by PPO); a
            seed below 0; a step size outside (0, 1]; a family without ``LOW:HIGH`` ranges; a held-out task inside
            the family; tasks whose spaces differ; a budget too small for one Reptile iteration; bad
            hyperparameters; for rl2, an algorithm without a recurrent class, another backbone, an observation
            that is not a vector, a range bound that breaks the env.
    """
    names = parse_methods(methods)
    adapting = bool(set(names) & set(ADAPTING))
    if adapting and adapt_steps is None:
        raise UserError(f"--adapt-steps is required for {', '.join(n for n in names if n in ADAPTING)}",
                        "e.g. --adapt-steps 5000 (rl2 alone adapts in its hidden state and needs none)")
    _check_counts(timesteps=timesteps, meta_batch=meta_batch, inner_steps=inner_steps, eval_episodes=eval_episodes,
                  trials=trials, test_tasks=test_tasks)
    if adapting and adapt_steps is not None:  # None was refused above
        _check_counts(adapt_steps=adapt_steps)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UserError(f"--seed must be an integer of at least 0, got {seed!r}")
    if not 0 < step_size <= 1:
        raise UserError(f"--step-size must be in (0, 1], got {step_size}", "Reptile's epsilon: e.g. 1.0 (annealed)")
    members = parse_tasks(family, "--family")
    if not any(m.ranges for m in members):
        raise UserError(f"--family {'; '.join(m.text for m in members)!r} has no LOW:HIGH range to sample tasks from",
                        "give ranges, e.g. --family 'CartPole-v1 length=0.5x:2x masspole=0.5x:2x'")
    held_out = held_out_tasks(test, test_tasks, seed)
    for member in members:  # both ends of every range: a bound that breaks the env is refused now
        for end in (0, 1):
            resolve_task(Task(member.env, tuple((k, member.ranges[k][end] if k in member.ranges else v)
                                                for k, v in member.modifiers)))
    for task in (t for t in expand_tasks(parse_tasks(test, "--test")) if not t.ranges):  # ranged: unseen draws
        for member in members:
            why = inside(task, member)
            if why is not None:
                raise UserError(f"held-out task {task.text!r} lies inside the training family {member.text!r} "
                                f"({why})", "choose --test values outside the family's ranges, e.g. length=3x")
    check_tasks([*sample_tasks(members, 1, seed), *held_out],
                "meta-learning adapts one initialisation to every task (no method allows different spaces)")
    plan = MetaPlan(tuple(m.text for m in members), tuple(t.text for t in held_out), names, int(timesteps),
                    int(adapt_steps or 0), int(seed), int(meta_batch), int(inner_steps), float(step_size),
                    int(eval_episodes), dict(hyperparams or {}), trials=int(trials))
    if {"reptile", "fomaml"} & set(names) and plan.iterations < 1:
        raise UserError(f"--timesteps {timesteps} is less than one meta-iteration (--meta-batch {meta_batch} x "
                        f"--inner-steps {inner_steps} = {meta_batch * inner_steps})",
                        "raise --timesteps or lower --meta-batch / --inner-steps")
    if adapting:
        run_config(plan, held_out[:1], plan.adapt_steps, plan.seed)  # the hyperparameters, before anything is written
    if "rl2" in names:
        _check_rl2(plan, members)
    return plan, members, held_out


def run_config(plan: MetaPlan, tasks: Sequence[Task], steps: int, seed: int, init: str | None = None) -> Any:
    """A run on ``tasks`` (one, or a per-episode mixture) for ``steps``; ``init``: the folder whose ``task_0.pt``
    holds the policy it starts from (continual learning's memory format: :mod:`gymsuite.agents.run.continual`)."""
    hyper = {**defaults_for(plan.algo, tasks[0].env, given=plan.hyperparams), **plan.hyperparams,
             "env_kwargs": task_env_kwargs(tasks)}
    if init is not None:
        hyper["continual"] = {"method": "finetune", "memory": init, "previous": 1}
    return build_config({"algo": plan.algo, "env": TASK_ENV_ID, "timesteps": steps, "seed": seed,
                         "eval_episodes": plan.eval_episodes, "eval_freq": 0}, overrides=hyper)


def trial_kwargs(tasks: Sequence[Task], trials: int) -> dict[str, Any]:
    """The ``env_kwargs`` of ``gymsuite/Trials-v0``: trials of ``trials`` episodes on tasks of ``tasks``."""
    return {"family": "; ".join(t.text for t in tasks), "episodes": int(trials)}


def rl2_config(plan: MetaPlan, family: Sequence[Task], steps: int, seed: int) -> Any:
    """RL²'s meta-training run: ``plan.algo``'s recurrent engine for ``steps`` env steps on trials of ``family``
    (:data:`RL2_DEFAULTS`, then ``plan.hyperparams``)."""
    hyper = {**RL2_DEFAULTS, **plan.hyperparams, "env_kwargs": trial_kwargs(family, plan.trials)}
    return build_config({"algo": plan.algo, "env": TRIALS_ENV_ID, "timesteps": steps, "seed": seed,
                         "eval_episodes": plan.eval_episodes, "eval_freq": 0}, overrides=hyper)


__all__ = ["ADAPTING", "METHODS", "MIXTURE", "TEST_SEED", "MetaPlan", "held_out_tasks", "inside", "make_plan",
           "parse_methods", "RL2_DEFAULTS", "rl2_config", "run_config", "TRIALS_ENV_ID", "trial_kwargs"]
