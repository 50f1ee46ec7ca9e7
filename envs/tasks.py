"""Tasks: an env spec with ``key=value`` modifiers, sequences of them, and families to sample them from.

One format for continual learning's sequences and meta-learning's families::

    CartPole-v1                               the env as registered
    CartPole-v1 length=2x gravity=15          physics parameters (gymsuite.envs.params: absolute or 2x the nominal)
    CartPole-v1 permute=2,0,3,1 signflip=0,2  observation transforms (gymsuite.envs.wrappers.transforms)
    CartPole-v1 taskid=1/3                    a one-hot task id (entry 1 of 3) appended to the observation
    MiniGrid-Empty-Random-6x6-v0 size=8       a constructor keyword (or kw:NAME); any id is a task
    metaworld:ML1/reach-v3 task=3             a Meta-World goal (gymsuite.envs.metaworld; split=test: held out)
    CartPole-v1; CartPole-v1 permute=3,2,1,0  a sequence: ``;`` separates tasks
    CartPole-v1 length=0.5x:2x                a family: ``LOW:HIGH`` ranges, sampled uniformly by sample_tasks
    metaworld:ML1/reach-v3 task=0:49          a whole-number key (INTEGER_KEYS) draws whole values, bounds included

``signflip=true`` flips every entry, ``signflip=0,2`` the entries named (after permuting). Each string may
instead be a YAML file holding ``tasks:`` (or ``family:``), a list of task strings or of mappings
``{env: CartPole-v1, length: 2x, permute: [2, 0, 3, 1]}``.

A task is trained and evaluated as the registered env ``gymsuite/Tasks-v0`` with ``env_kwargs: {tasks: TEXT}``
(:class:`gymsuite.envs.taskenv.TaskEnv`), so a run on a task is an ordinary run: ``config.yaml`` rebuilds the task,
and ``evaluate`` and ``record`` take it. With several tasks, it draws one per episode (multi-task training).
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import yaml

from gymsuite.common.errors import UserError
from gymsuite.common.files import read_yaml
from gymsuite.envs.factory import resolve
from gymsuite.envs.metaworld import DEFAULTS as METAWORLD_DEFAULTS
from gymsuite.envs.metaworld import factory as metaworld_factory
from gymsuite.envs.metaworld import is_metaworld
from gymsuite.envs.observation import EnvOptions, observation_wrappers
from gymsuite.envs.params import EnvParam, SetParams, env_params, find_param
from gymsuite.envs.wrappers.transforms import ObservationTransform

TASK_ENV_ID = "gymsuite/Tasks-v0"
TRANSFORMS = ("permute", "signflip", "taskid")
INTEGER_KEYS = ("task",)  # whole-valued keys: a Meta-World goal's index; a range of them draws whole values


@dataclass(frozen=True)
class Task:
    """One task as written: an env spec and its modifiers, in the order given.

    Attributes:
        env: the env spec (a registered id, ``module:Class``, ...).
        modifiers: ``(key, value)`` pairs, values as text (``("length", "2x")``, ``("permute", "2,0,3,1")``).
    """

    env: str
    modifiers: tuple[tuple[str, str], ...] = ()

    @property
    def text(self) -> str:
        """The task as one spec string (what ``--tasks`` takes)."""
        return " ".join([self.env, *(f"{k}={v}" for k, v in self.modifiers)])

    @property
    def ranges(self) -> dict[str, tuple[str, str]]:
        """The modifiers given as ``LOW:HIGH`` ranges (a family's), key -> ``(low, high)``."""
        return {k: _split_range(v) for k, v in self.modifiers if _is_range(k, v)}


def _is_range(key: str, value: str) -> bool:
    return key not in TRANSFORMS and value.count(":") == 1


def _split_range(value: str) -> tuple[str, str]:
    low, high = value.split(":")
    return low.strip(), high.strip()


def parse_task(text: str) -> Task:
    """``"ENV key=value ..."`` as a :class:`Task` (the keys are checked against the env by :func:`resolve_task`).

    Raises:
        UserError: empty text, a modifier without ``=``, a key given twice.
    """
    words = str(text).split()
    if not words:
        raise UserError("an empty task", "write an env spec, optionally with key=value modifiers: "
                        "'CartPole-v1 length=2x'")
    if "=" in words[0]:
        raise UserError(f"task {text.strip()!r} starts with a modifier, not an env spec",
                        "write the env first: 'CartPole-v1 length=2x'")
    modifiers: list[tuple[str, str]] = []
    for word in words[1:]:
        key, eq, value = word.partition("=")
        if not eq or not key or not value:
            raise UserError(f"task {text.strip()!r}: {word!r} is not key=value",
                            "modifiers are key=value without spaces: length=2x permute=2,0,3,1")
        if key in dict(modifiers):
            raise UserError(f"task {text.strip()!r} sets {key} twice", f"keep one {key}=...")
        modifiers.append((key, value))
    return Task(words[0], tuple(modifiers))


def parse_tasks(spec: str | Sequence[str], what: str = "--tasks") -> list[Task]:
    """The tasks of ``spec``: ``"A; B; C"``, a list of task strings, or a YAML file (``tasks:`` or ``family:``).

    Raises:
        UserError: no task, an empty task between two ``;``, a YAML file of another shape.
    """
    if isinstance(spec, str) and spec.strip().endswith((".yml", ".yaml")):
        items = _yaml_tasks(Path(spec.strip()), what)
    elif isinstance(spec, str):
        items = spec.split(";")
    else:
        items = list(spec)
    if not items or not any(str(item).strip() for item in items):
        raise UserError(f"{what} names no task", "give tasks separated by ';': "
                        "'CartPole-v1; CartPole-v1 permute=3,2,1,0'")
    if any(not str(item).strip() for item in items):
        raise UserError(f"{what} {spec!r} has an empty task (two ';' in a row, or one at the end)",
                        "remove the extra ';'")
    return [parse_task(str(item)) for item in items]


def _yaml_tasks(path: Path, what: str) -> list[str]:
    data = read_yaml(path)
    items = data.get("tasks", data.get("family"))
    if not isinstance(items, list):
        raise UserError(f"{path} ({what}) holds no list under 'tasks:' or 'family:'",
                        "write tasks: [CartPole-v1, 'CartPole-v1 length=2x'] or a list of {env: ..., key: value}")
    return [_yaml_task(item, path) for item in items]


def _yaml_task(item: Any, path: Path) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, Mapping) and "env" in item:
        parts = [str(item["env"])]
        for key, value in item.items():
            if key != "env":
                text = ",".join(map(str, value)) if isinstance(value, list) else str(value).lower() \
                    if isinstance(value, bool) else str(value)
                parts.append(f"{key}={text}")
        return " ".join(parts)
    raise UserError(f"{path}: task {item!r} is neither a string nor a mapping with 'env'",
                    "write 'CartPole-v1 length=2x' or {env: CartPole-v1, length: 2x}")


def sample_tasks(family: Sequence[Task], n: int, seed: int) -> list[Task]:
    """``n`` tasks drawn from ``family``: a member uniformly, then each ``LOW:HIGH`` value uniformly in its range
    (relative bounds ``0.5x:2x`` give a relative value ``1.37x``); the same ``seed`` draws the same tasks.

    Raises:
        UserError: a range mixing absolute and relative bounds, or bounds that are not numbers.
    """
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        member = family[int(rng.integers(len(family)))]
        out.append(Task(member.env, tuple((k, _draw(member, k, v, rng) if _is_range(k, v) else v)
                                          for k, v in member.modifiers)))
    return out


def _draw(task: Task, key: str, value: str, rng: np.random.Generator) -> str:
    low, high = _split_range(value)
    relative = [_relative(s) for s in (low, high)]
    if (relative[0] is None) != (relative[1] is None):
        raise UserError(f"task {task.text!r}: {key}={value} mixes an absolute and a relative bound",
                        f"write both relative ({key}=0.5x:2x) or both absolute ({key}=5:20)")
    try:
        bounds = [float(r) if r is not None else float(s) for r, s in zip(relative, (low, high), strict=True)]
    except ValueError:
        raise UserError(f"task {task.text!r}: {key}={value} is not a range of numbers",
                        f"write {key}=LOW:HIGH, e.g. {key}=0.5x:2x") from None
    if key in INTEGER_KEYS:
        return str(int(rng.integers(*_whole_bounds(task, key, value, bounds), endpoint=True)))
    drawn = float(rng.uniform(min(bounds), max(bounds)))
    return f"{drawn:.6g}x" if relative[0] is not None else f"{drawn:.6g}"


def _whole_bounds(task: Task, key: str, value: str, bounds: Sequence[float]) -> tuple[int, int]:
    if any(b != round(b) for b in bounds) or value.lower().count("x"):
        raise UserError(f"task {task.text!r}: {key}={value} is not a range of whole numbers",
                        f"write {key}=LOW:HIGH with whole bounds, e.g. {key}=0:49")
    return int(min(bounds)), int(max(bounds))


def expand_tasks(tasks: Sequence[Task]) -> list[Task]:
    """Every task of ``tasks`` with each whole-number range (:data:`INTEGER_KEYS`) listed value by value:
    ``metaworld:ML1/reach-v3 split=test task=0:2`` is its goals 0, 1 and 2 (a held-out set, ``--test``); other
    ranges stay (only a family samples them).

    Raises:
        UserError: a whole-number key's range whose bounds are not whole numbers.
    """
    out = []
    for task in tasks:
        ranged = [k for k, v in task.modifiers if k in INTEGER_KEYS and _is_range(k, v)]
        if not ranged:
            out.append(task)
            continue
        key = ranged[0]
        value = dict(task.modifiers)[key]
        try:
            bounds = [float(b) for b in _split_range(value)]
        except ValueError:
            bounds = [0.5]
        low, high = _whole_bounds(task, key, value, bounds)
        out += expand_tasks([Task(task.env, tuple((k, str(n) if k == key else v) for k, v in task.modifiers))
                             for n in range(low, high + 1)])
    return out


def without_defaults(task: Task) -> Task:
    """``task`` without the modifiers that restate a default (a Meta-World task's ``split=train``), so that two
    spellings of one task compare equal."""
    if not is_metaworld(task.env):
        return task
    return Task(task.env, tuple((k, v) for k, v in task.modifiers if METAWORLD_DEFAULTS.get(k) != v))


def _factory(env: str) -> Any:
    """What builds ``env``: a Meta-World spec's env (:mod:`gymsuite.envs.metaworld`), else the factory's."""
    return metaworld_factory(env) if is_metaworld(env) else resolve(env)


def _relative(text: str) -> str | None:
    s = text.lower()
    return s[1:] if s.startswith("x") else s[:-1] if s.endswith("x") else None


@dataclass(frozen=True)
class ResolvedTask:
    """A task checked against its env: what to build it with.

    Attributes:
        task: as written.
        kwargs: the env constructor's keyword arguments.
        params: parameters set on the unwrapped env before each episode, name -> ``(param, value)``.
        permute, signflip, taskid: the observation transform (None: none).
    """

    task: Task
    kwargs: dict[str, Any] = field(default_factory=dict)
    params: dict[str, tuple[EnvParam, float]] = field(default_factory=dict)
    permute: tuple[int, ...] | None = None
    signflip: tuple[int, ...] | None = None
    taskid: tuple[int, int] | None = None


def resolve_task(task: Task) -> ResolvedTask:
    """Check each modifier of ``task`` against its env (built once per process and task, closed again).

    A meta-learning run resolves the same tasks again at every iteration; building a Meta-World env loads its MuJoCo
    model (about 0.2 s), so the resolution is kept (a task that fails is checked again when asked again).

    Raises:
        UserError: an unknown env; a key that is no parameter, transform or constructor keyword of the env (the
            message lists those it has); a value that breaks the env; a range (only families take them).
    """
    kept = _resolved(task)
    return replace(kept, kwargs=dict(kept.kwargs), params=dict(kept.params))  # the caller's own dicts


@functools.lru_cache(maxsize=256)
def _resolved(task: Task) -> ResolvedTask:
    probe = _factory(task.env)()
    try:
        return _resolve(task, probe)
    finally:
        probe.close()


def _resolve(task: Task, probe: gym.Env) -> ResolvedTask:
    label = f"task {task.text!r}"
    known, keywords = env_params(probe), _keywords(probe)
    kwargs: dict[str, Any] = {}
    params: dict[str, tuple[EnvParam, float]] = {}
    permute = signflip = None
    taskid: tuple[int, int] | None = None
    for key, value in task.modifiers:
        if _is_range(key, value):
            raise UserError(f"{label}: {key}={value} is a range, which only a family (--family) samples from",
                            f"give one value, e.g. {key}={_split_range(value)[0]}")
        if key == "permute":
            permute = _indices(value, label, key)
        elif key == "signflip":
            signflip = _flips(value, probe, label)
        elif key == "taskid":
            taskid = _taskid(value, label)
        elif key in known or key.startswith(("kw:", "attr:")):
            param = find_param(probe, key, label)
            number = param.value(value, f"{label}: {key}")
            if param.kwarg is not None:
                kwargs[param.kwarg] = int(number) if param.integer else number
            else:
                params[key] = (param, number)
        elif key in keywords:
            kwargs[key] = yaml.safe_load(value)
        else:
            inner = type(probe.unwrapped).__name__
            close = difflib.get_close_matches(key, [*known, *TRANSFORMS, *keywords], n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise UserError(f"{label}: {inner} has no parameter {key!r}",
                            f"{hint}{inner} has parameters {', '.join(known) or 'none'}; observation transforms "
                            f"{', '.join(TRANSFORMS)}; constructor keywords {', '.join(keywords) or 'none'}; "
                            "any env: kw:NAME, attr:NAME")
    return ResolvedTask(task, kwargs, params, permute, signflip, taskid)


def _keywords(env: gym.Env) -> list[str]:
    declared = getattr(type(env.unwrapped), "task_keywords", None)  # an env whose first argument is its spec
    if declared is not None:
        return list(declared)
    try:
        params = inspect.signature(type(env.unwrapped)).parameters
    except (TypeError, ValueError):
        return []
    return [k for k, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and k != "render_mode"]


def _indices(value: str, label: str, key: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in value.split(","))
    except ValueError:
        raise UserError(f"{label}: {key}={value} is not a list of entry numbers",
                        f"write {key}=2,0,3,1 (the observation's entries, from 0)") from None


def _taskid(value: str, label: str) -> tuple[int, int]:
    k, _, n = value.partition("/")
    try:
        pair = int(k), int(n)
    except ValueError:
        pair = (-1, 0)
    if not 0 <= pair[0] < pair[1]:
        raise UserError(f"{label}: taskid={value} is not K/N with 0 <= K < N",
                        "write taskid=0/3 for the first of three tasks")
    return pair


def _flips(value: str, probe: gym.Env, label: str) -> tuple[int, ...] | None:
    if value.lower() in ("true", "all"):
        shape = getattr(probe.observation_space, "shape", None) or (0,)
        return tuple(range(int(np.prod(shape))))
    if value.lower() == "false":
        return None
    return _indices(value, label, "signflip")


def build_task(resolved: ResolvedTask, render_mode: str | None = None) -> gym.Env:
    """The env of ``resolved``: built with its keywords, its parameters set before every episode, MiniGrid's image
    chosen as for a run (:func:`gymsuite.envs.observation.observation_wrappers`), then the transform."""
    task = resolved.task
    env = _factory(task.env)(render_mode=render_mode, **resolved.kwargs)
    if resolved.params:
        env = SetParams(env, resolved.params)
    wrappers = [] if is_metaworld(task.env) else observation_wrappers(task.env, EnvOptions(), task.env)[0]
    for wrap in wrappers:
        env = wrap(env)
    if resolved.permute is not None or resolved.signflip is not None or resolved.taskid is not None:
        env = ObservationTransform(env, resolved.permute, resolved.signflip, resolved.taskid, f"task {task.text!r}")
    return env


def check_same_spaces(tasks: Sequence[Task], envs: Sequence[gym.Env], why: str) -> None:
    """Refuse tasks whose observation or action spaces differ in kind, shape or dtype (Box bounds may differ).

    Raises:
        UserError: naming the first task that differs, the spaces, and ``why`` they must agree.
    """
    first = envs[0]
    for task, env in zip(tasks[1:], envs[1:], strict=True):
        for what in ("observation_space", "action_space"):
            a, b = getattr(first, what), getattr(env, what)
            if not _same_space(a, b):
                raise UserError(f"task {task.text!r} has {what.replace('_', ' ')} {b}, task {tasks[0].text!r} has "
                                f"{a}: {why}", "choose tasks of one env family (same observation and action spaces)")


def _same_space(a: gym.Space, b: gym.Space) -> bool:
    if isinstance(a, gym.spaces.Box) and isinstance(b, gym.spaces.Box):
        return a.shape == b.shape and a.dtype == b.dtype
    return a == b


def task_env_kwargs(tasks: Sequence[Task]) -> dict[str, str]:
    """The ``env_kwargs`` of ``gymsuite/Tasks-v0`` for ``tasks`` (one task, or a mixture of several)."""
    return {"tasks": "; ".join(t.text for t in tasks)}


def check_tasks(tasks: Sequence[Task], why: str) -> list[ResolvedTask]:
    """Resolve every task and refuse spaces that differ (``why``: the method that needs them equal)."""
    resolved = [resolve_task(t) for t in tasks]
    envs = [build_task(r) for r in resolved]
    try:
        check_same_spaces(tasks, envs, why)
    finally:
        for env in envs:
            env.close()
    return resolved


__all__ = ["INTEGER_KEYS", "TASK_ENV_ID", "TRANSFORMS", "ResolvedTask", "Task", "build_task", "check_same_spaces",
           "check_tasks", "expand_tasks", "parse_task", "parse_tasks", "resolve_task", "sample_tasks",
           "task_env_kwargs", "without_defaults"]
