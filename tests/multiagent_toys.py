"""Toy PettingZoo envs with known rewards, deaths and time limits, for the bridge's tests.

:class:`Toy` (parallel): agents ``a``, ``b``, ``c`` (indices 0, 1, 2). At joint step t (1, 2, ...) agent i
gets reward ``10 * (i + 1) + t + action`` (so the reward shows which action reached the env); ``b`` terminates
at ``t == die_at``; at ``t == limit`` ``a`` is truncated and ``c`` both terminated and truncated. The
observation is ``[t, noise]`` with noise drawn from the env's seeded generator (seeding is visible).
``step`` refuses an action for an agent that is not alive, and :attr:`received` logs every action dict.
The product loads these by file path: ``f"{MA_TOY_FILE}:make_toy"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec

MA_TOY_FILE = Path(__file__).resolve()


class Toy(ParallelEnv):
    """See the module docstring. ``masked``: observations ``{"observation", "action_mask"}``, the only legal
    action at step t being ``t % 3`` (an illegal action raises)."""

    metadata = {"name": "toy_v0", "render_modes": ["rgb_array"], "is_parallelizable": True, "render_fps": 4}

    def __init__(self, die_at: int = 2, limit: int = 4, masked: bool = False, obs_sizes: dict[str, int] | None = None,
                 actions: dict[str, int] | None = None, render_mode: str | None = None) -> None:
        self.possible_agents = ["a", "b", "c"]
        self.die_at, self.limit, self.masked, self.render_mode = die_at, limit, masked, render_mode
        self.obs_sizes = obs_sizes or {}
        self.n_actions = actions or {}
        self.received: list[dict[str, Any]] = []
        self.label = "toy"
        self.t = 0
        self.agents: list[str] = []
        self.rng = np.random.default_rng()
        self._obs_spaces: dict[str, spaces.Space] = {}
        for agent in self.possible_agents:  # one space object per agent (PettingZoo's API test asks for that)
            box = spaces.Box(-1.0, 100.0, (self.obs_sizes.get(agent, 2),), np.float32)
            mask = spaces.Box(0, 1, (3,), np.int8)
            self._obs_spaces[agent] = spaces.Dict({"observation": box, "action_mask": mask}) if masked else box
        self._act_spaces = {a: spaces.Discrete(self.n_actions.get(a, 3)) for a in self.possible_agents}

    def observation_space(self, agent: str) -> spaces.Space:
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self._act_spaces[agent]

    @property
    def state_space(self) -> spaces.Box:
        return spaces.Box(0.0, 100.0, (3,), np.float32)

    def state(self) -> np.ndarray:
        return np.array([self.t, len(self.agents), 7.0], np.float32)

    def describe(self, prefix: str) -> str:
        return f"{prefix}{self.label}:{self.t}"

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.t = 0
        self.agents = list(self.possible_agents)
        return {a: self._obs(a) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        if set(actions) != set(self.agents):
            raise ValueError(f"actions for {sorted(actions)}, but the live agents are {self.agents}")
        if self.masked and any(int(a) != self.t % 3 for a in actions.values()):
            raise ValueError(f"illegal action {actions} at step {self.t}")
        self.received.append(dict(actions))
        self.t += 1
        rewards = {a: 10.0 * (i + 1) + self.t + int(actions[a])
                   for i, a in enumerate(self.possible_agents) if a in self.agents}
        terminated = {a: (a == "b" and self.t == self.die_at) or (a == "c" and self.t == self.limit)
                      for a in self.agents}
        truncated = {a: self.t == self.limit and a != "b" for a in self.agents}
        obs = {a: self._obs(a) for a in self.agents}
        infos: dict[str, dict] = {a: {} for a in self.agents}
        self.agents = [a for a in self.agents if not (terminated[a] or truncated[a])]
        return obs, rewards, terminated, truncated, infos

    def _obs(self, agent: str) -> Any:
        size = self.obs_sizes.get(agent, 2)
        values = np.zeros(size, np.float32)
        values[:2] = [self.t, self.rng.random()]
        if self.masked:
            mask = np.zeros(3, np.int8)
            mask[self.t % 3] = 1
            return {"observation": values, "action_mask": mask}
        return values

    def render(self) -> np.ndarray | None:
        return np.full((4, 6, 3), self.t, np.uint8) if self.render_mode == "rgb_array" else None

    def close(self) -> None:
        pass


def make_toy(**kwargs: Any) -> Toy:
    return Toy(**kwargs)


def make_toy_aec(**kwargs: Any) -> Any:
    """The toy in AEC form (``parallel_to_aec`` marks it ``is_parallelizable``: the bridge runs it in parallel)."""
    return parallel_to_aec(Toy(**kwargs))


def make_uneven(**kwargs: Any) -> Toy:
    """Agent ``b`` observes 3 numbers, the others 2 (shared policy: an error, or ``pad``)."""
    return Toy(obs_sizes={"b": 3}, **kwargs)


def make_uneven_actions(**kwargs: Any) -> Toy:
    return Toy(actions={"c": 5}, **kwargs)


class Lying(Toy):
    """Fails PettingZoo's API test: its observations are outside the declared space."""

    def _obs(self, agent: str) -> Any:
        return np.full(2, 1000.0, np.float32)


def make_lying(**kwargs: Any) -> Lying:
    return Lying(**kwargs)


class BadApi(Toy):
    """Fails PettingZoo's API test: ``step`` leaves a live agent's observation out."""

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        obs, rewards, terminated, truncated, infos = super().step(actions)
        obs.pop("a", None)
        return obs, rewards, terminated, truncated, infos


def make_bad_api(**kwargs: Any) -> BadApi:
    return BadApi(**kwargs)
