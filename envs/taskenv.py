"""``gymsuite/Tasks-v0``: the env of one task (:mod:`gymsuite.envs.tasks`), or a mixture drawing one per episode.

``gym.make("gymsuite/Tasks-v0", tasks="CartPole-v1 length=2x")`` builds the task; with ``tasks="A; B"`` every episode
is one of them (multi-task training). Its generator seeds every episode of its tasks' envs, and :attr:`TaskEnv.state`
carries the current episode into a checkpoint, so a run on it resumes exactly
(:mod:`gymsuite.agents.files.resumestate`).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from gymsuite.envs.tasks import build_task, check_same_spaces, parse_tasks, resolve_task


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


def _layers(env: gym.Env) -> list[Any]:
    layers = [env]
    while isinstance(layers[-1], gym.Wrapper):
        layers.append(layers[-1].env)
    return layers


__all__ = ["TaskEnv"]
