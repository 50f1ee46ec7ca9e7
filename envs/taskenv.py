"""``gymsuite/Tasks-v0``: the env of one task (:mod:`gymsuite.envs.tasks`), or a mixture drawing one per episode;
``gymsuite/Trials-v0``: RL²'s trials of K episodes, a task drawn from a family per trial.

``gym.make("gymsuite/Tasks-v0", tasks="CartPole-v1 length=2x")`` builds the task; with ``tasks="A; B"`` every episode
is one of them (multi-task training). Its generator seeds every episode of its tasks' envs, and :attr:`TaskEnv.state`
carries the current episode into a checkpoint, so a run on it resumes exactly
(:mod:`gymsuite.agents.files.resumestate`).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from gymsuite.common.errors import UserError
from gymsuite.envs.params import EnvParam, SetParams
from gymsuite.envs.tasks import Task, build_task, check_same_spaces, parse_tasks, resolve_task, sample_tasks
from gymsuite.envs.wrappers.trials import Trials


class TaskEnv(gym.Env):
    """The env of one task, or a mixture that draws one of several tasks per episode (multi-task training).

    Registered as ``gymsuite/Tasks-v0``: ``gym.make("gymsuite/Tasks-v0", tasks="CartPole-v1 length=2x")``.
    ``info["task"]`` is the index of the episode's task. A mixture's observation bounds are the union of its tasks'.

    Args:
        tasks: a task spec, a sequence ``"A; B"`` or a YAML file (module docstring).
        render_mode: passed to every task's env.
    """

    def __init__(self, tasks: str, render_mode: str | None = None) -> None:
        parsed = parse_tasks(tasks, "tasks")
        self.tasks = parsed
        self.envs = [build_task(resolve_task(t), render_mode) for t in parsed]
        check_same_spaces(parsed, self.envs, "a multi-task env gives one agent every task")
        self.render_mode = render_mode
        self.metadata = dict(self.envs[0].metadata)
        self.action_space = self.envs[0].action_space
        space = self.envs[0].observation_space
        if isinstance(space, gym.spaces.Box) and len(self.envs) > 1:
            low = np.min([e.observation_space.low for e in self.envs], axis=0)  # type: ignore[attr-defined]
            high = np.max([e.observation_space.high for e in self.envs], axis=0)  # type: ignore[attr-defined]
            space = gym.spaces.Box(low, high, dtype=space.dtype)
        self.observation_space = space
        self.index = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Draw the episode's task (a mixture) and reset its env with a seed drawn from this env's generator, so that
        this generator alone decides every episode (and a checkpoint that keeps it continues them exactly)."""
        super().reset(seed=seed)
        if len(self.envs) > 1:
            self.index = int(self.np_random.integers(len(self.envs)))
        obs, info = self.envs[self.index].reset(seed=int(self.np_random.integers(2**31)), options=options)
        return obs, {**info, "task": self.index}

    @property
    def state(self) -> np.ndarray | None:
        """Where the current episode is, for an exact resume (:mod:`gymsuite.agents.files.resumestate`):
        ``[task, its TimeLimit's elapsed steps, steps_beyond_terminated (nan: None), *its env's state]``, or None
        when the task's env keeps no ``state`` array (MiniGrid: a resume restarts the episodes)."""
        env = self.envs[self.index]
        inner = env.unwrapped
        values = getattr(inner, "state", None)
        if values is None or not isinstance(values, (np.ndarray, tuple, list)):
            return None
        beyond = getattr(inner, "steps_beyond_terminated", None)
        elapsed = next((w._elapsed_steps for w in _layers(env) if isinstance(w, gym.wrappers.TimeLimit)), 0)
        head = [self.index, elapsed, np.nan if beyond is None else beyond]
        return np.concatenate([np.asarray(head, dtype=np.float64), np.asarray(values, dtype=np.float64).ravel()])

    @state.setter
    def state(self, value: Any) -> None:
        if value is None:
            return
        saved = np.asarray(value, dtype=np.float64)
        self.index = int(saved[0])
        env = self.envs[self.index]
        inner = env.unwrapped
        for layer in _layers(env):  # the episode was reset before the checkpoint
            if isinstance(layer, gym.wrappers.TimeLimit):
                setattr(layer, "_elapsed_steps", int(saved[1]))  # noqa: B010  (gymnasium types it None before reset)
            for flag in ("_has_reset", "checked_reset", "checked_step", "checked_data_reuse"):  # its checks ran
                if hasattr(layer, flag):
                    setattr(layer, flag, True)
        setattr(inner, "steps_beyond_terminated", None if np.isnan(saved[2]) else int(saved[2]))  # noqa: B010
        old = np.asarray(getattr(inner, "state", saved[3:]))
        setattr(inner, "state", saved[3:].astype(old.dtype if old.size == saved[3:].size else np.float64))  # noqa: B010

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.envs[self.index].step(action)
        return obs, float(reward), terminated, truncated, {**info, "task": self.index}

    def render(self) -> Any:
        return self.envs[self.index].render()

    def close(self) -> None:
        for env in self.envs:
            env.close()


class FamilyEnv(gym.Env):
    """The env of one task of a family (``LOW:HIGH`` ranges, :func:`gymsuite.envs.tasks.sample_tasks`'s format), and
    :meth:`draw`, which picks another; a family without ranges is its one task.

    Both bounds of every range are checked when built (a value that breaks the env is refused then, not in the
    middle of training). A task that differs only in parameters set on the built env (CartPole's ``length``, a
    bandit's ``p0``) is drawn without rebuilding it; one with a ranged constructor keyword rebuilds it.

    Args:
        family: a task spec with ranges, several separated by ``;``, or a YAML file (``family: [...]``).
        render_mode: passed to every task's env.
    """

    def __init__(self, family: str, render_mode: str | None = None) -> None:
        self.members = parse_tasks(family, "family")
        self.render_mode = render_mode
        built, self.params = [], []
        for member in self.members:
            ends = [Task(member.env, tuple((k, member.ranges[k][i] if k in member.ranges else v)
                                           for k, v in member.modifiers)) for i in (0, 1)]
            low, _ = resolve_task(ends[0]), resolve_task(ends[1])  # both bounds valid, or a UserError now
            self.params.append({k: low.params[k][0] for k in member.ranges if k in low.params})
            built.append(build_task(low, render_mode))
        try:
            check_same_spaces(self.members, built, "one agent meets every member of a family")
        except UserError:
            for env in built:
                env.close()
            raise
        self.built = built
        self.observation_space, self.action_space = built[0].observation_space, built[0].action_space
        self.metadata = dict(built[0].metadata)
        self.index, self.env, self.task = 0, built[0], self.members[0]
        self.draw(np.random.default_rng(0))

    def draw(self, rng: np.random.Generator) -> Task:
        """Draw the next task from the family with ``rng`` (takes effect at the next :meth:`reset`)."""
        self.index = int(rng.integers(len(self.members)))
        member, fast = self.members[self.index], self.params[self.index]
        self.task = sample_tasks([member], 1, int(rng.integers(2**31)))[0]
        drawn = dict(self.task.modifiers)
        if not member.ranges:
            self.env = self.built[self.index]
        elif set(member.ranges) <= set(fast):  # only attributes vary: set them on the built env
            setter = next(w for w in _layers(self.built[self.index]) if isinstance(w, SetParams))
            values: dict[str, tuple[EnvParam, float]] = {k: (p, p.value(drawn[k], k)) for k, p in fast.items()}
            setter.values.update(values)
            self.env = self.built[self.index]
        else:  # a ranged constructor keyword: build the task's env
            if all(self.env is not env for env in self.built):
                self.env.close()
            self.env = build_task(resolve_task(self.task), self.render_mode)
        return self.task

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        obs, info = self.env.reset(seed=int(self.np_random.integers(2**31)), options=options)
        return obs, {**info, "task": self.task.text}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, float(reward), terminated, truncated, {**info, "task": self.task.text}

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        if all(self.env is not env for env in self.built):
            self.env.close()
        for env in self.built:
            env.close()


def trial_env(family: str, episodes: int = 2, render_mode: str | None = None) -> gym.Env:
    """``gymsuite/Trials-v0``: RL²'s trials (:class:`gymsuite.envs.wrappers.trials.Trials`) of ``episodes`` episodes,
    each trial's task drawn from ``family`` (:class:`FamilyEnv`; one fixed task when it has no ranges).

    ``gym.make("gymsuite/Trials-v0", family="gymsuite/TwoArmedBandit-v0 p0=0:1 p1=0:1", episodes=1)``.
    """
    env = FamilyEnv(family, render_mode)
    try:
        return Trials(env, episodes, env.draw)
    except UserError:  # an observation or action the history cannot be appended to
        env.close()
        raise


def _layers(env: gym.Env) -> list[Any]:
    layers = [env]
    while isinstance(layers[-1], gym.Wrapper):
        layers.append(layers[-1].env)
    return layers


__all__ = ["FamilyEnv", "TaskEnv", "trial_env"]
