"""gymsuite's PettingZoo-to-SB3 bridge: C copies of a parallel env as one SB3 ``VecEnv`` of C x G slots.

Dimension letters: C env copies, G agents (``possible_agents``), N = C x G slots, O an agent's observation
shape, S the state length, A the number of discrete actions (for masks).

Slot ``s = c * G + a`` is agent ``a`` (``possible_agents`` order) of copy ``c``. SuperSuit's
``pettingzoo_env_to_vec_env_v1`` + ``concat_vec_envs_v1`` does the same layout but (read from its code, with
SB3 2.9) cannot be seeded through SB3 (``ConcatVecEnv`` has no ``seed``), reports time-limit ends as
terminations (no ``TimeLimit.truncated``, so values are not bootstrapped) and feeds dead agents' slots
to the learner as if they acted. This bridge is written by hand for those three reasons:

* per step and slot: ``info["inactive"]`` is True when the slot's action was not used (its agent is done
  or absent); such a step has reward 0 and ``done`` False, its action never reaches the env, and it must be
  left out of training (``last_inactive`` holds the same flags as an ``(N,)`` bool array);
* an agent's own end: ``done`` True, ``info["terminal_observation"]``, ``info["TimeLimit.truncated"] =
  truncated and not terminated`` (an agent that vanishes without a flag counts as truncated), and
  ``info["episode"] = {"r", "l", "t"}`` (its return and length in the env's own reward);
* copy c's episode end (no agent left): every slot of c reports ``done`` True, the copy is reset, and slot
  ``c * G`` carries ``info["joint_episode"] = {"r": {agent: return}, "l": joint length, "t": seconds}``;
* ``seed(s)``: copy c's next reset gets seed ``s + c`` (later resets continue the env's own generator);
* ``action_masks() -> (N, A) bool`` from observations ``{"observation", "action_mask"}`` or
  ``info["action_mask"]``, all True on inactive slots (sb3-contrib's MaskablePPO reads it through
  ``env_method("action_masks")``);
* options (:class:`MultiAgentOptions`): ``agent_id`` appends a one-hot ``(G,)`` of the agent index to each
  1-D observation (and to the state); ``state`` makes observations ``Dict({"obs": (O,), "state": (S,)})``
  with ``env.state()`` (or, for an env without ``state_space``, the concatenation of all agents' flattened
  observations, (G x O,) float32); ``pad`` zero-pads 1-D Box observations of different lengths to the
  longest; ``resize: [H, W]`` and ``grey`` shrink image observations
  (:func:`gymsuite.envs.wrappers.pixels.resize_frame`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

from gymsuite.common.errors import UserError
from gymsuite.envs.multiagent.options import MultiAgentOptions, multiagent_options
from gymsuite.envs.multiagent.spaces import SlotSpaces, slot_spaces


class ParallelVecEnv(VecEnv):
    """C copies of a PettingZoo ``ParallelEnv`` as an SB3 ``VecEnv`` of N = C x G slots (module docstring).

    Args:
        envs: the C copies (same ``possible_agents`` and spaces).
        options: :class:`MultiAgentOptions` (or a ``multiagent`` mapping).
        name: the env spec, for error messages.
        max_episode_steps: truncate every agent still alive after this many joint steps (None: the env's own).

    Attributes:
        agents: ``possible_agents``, the order of a copy's slots.
        n_copies: C.
        n_agents: G.
        last_inactive: ``(N,)`` bool, the last step's ``info["inactive"]``.
    """

    def __init__(self, envs: Sequence[Any], options: MultiAgentOptions | dict[str, Any] | None = None,
                 name: str = "the env", max_episode_steps: int | None = None) -> None:
        if not envs:
            raise ValueError("ParallelVecEnv needs at least one env copy")
        self.envs = list(envs)
        self.options = multiagent_options(options)
        self.agents: list[str] = list(self.envs[0].possible_agents)
        self.n_copies, self.n_agents = len(self.envs), len(self.agents)
        self.name = name
        self.max_episode_steps = max_episode_steps
        for env in self.envs[1:]:
            if list(env.possible_agents) != self.agents:
                raise UserError(f"copies of {name} have different possible_agents", "make possible_agents fixed")
        self.spaces: SlotSpaces = slot_spaces(self.envs[0], self.agents, self.options, name)
        n = self.n_copies * self.n_agents
        super().__init__(n, self.spaces.observation_space, self.spaces.action_space)
        self.metadata = {**self.metadata, **{k: v for k, v in self.envs[0].metadata.items() if k == "render_fps"}}
        self._index = {agent: a for a, agent in enumerate(self.agents)}
        self._discrete = isinstance(self.action_space, spaces.Discrete)
        self._obs = np.zeros((n, *self.spaces.obs_shape), self.spaces.obs_dtype)  # (N, *O)
        if self.options.agent_id:
            self._obs[:, -self.n_agents:] = np.tile(np.eye(self.n_agents, dtype=self._obs.dtype), (self.n_copies, 1))
        self._state = None if self.spaces.state_shape is None else \
            np.zeros((n, *self.spaces.state_shape), self.spaces.state_dtype)  # (N, S)
        if self._state is not None and self.options.agent_id:
            self._state[:, -self.n_agents:] = np.tile(np.eye(self.n_agents, dtype=self._state.dtype),
                                                      (self.n_copies, 1))
        self._masks = None if self.spaces.n_mask is None else np.ones((n, self.spaces.n_mask), bool)  # (N, A)
        self._alive = np.zeros((self.n_copies, self.n_agents), bool)  # (C, G): the slot acts next step
        self._ended = np.zeros((self.n_copies, self.n_agents), bool)  # (C, G): its episode ended already
        self._returns = np.zeros(n, np.float64)
        self._lengths = np.zeros(n, np.int64)
        self._joint_lengths = np.zeros(self.n_copies, np.int64)
        self.last_inactive = np.zeros(n, bool)
        self._copy_seeds: list[int | None] = [None] * self.n_copies
        self._actions: np.ndarray | None = None
        self._t0 = time.perf_counter()

    # ------------------------------------------------------------------ the VecEnv API

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Copy c's next reset gets ``seed + c``; returns each slot's copy seed (N,)."""
        if seed is None:
            seed = int(np.random.randint(0, np.iinfo(np.uint32).max - self.n_copies, dtype=np.uint32))
        self._copy_seeds = [seed + c for c in range(self.n_copies)]
        return [seed + c for c in range(self.n_copies) for _ in self.agents]

    def reset(self) -> VecEnvObs:
        """Reset every copy (seeded by :meth:`seed` once); observations ``(N, *O)`` (or the state Dict)."""
        for c in range(self.n_copies):
            self.reset_infos[c * self.n_agents:(c + 1) * self.n_agents] = self._reset_copy(c)
        self._copy_seeds = [None] * self.n_copies
        self._reset_options()
        return self._observations()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions  # (N,) or (N, *action_shape)

    def step_wait(self) -> VecEnvStepReturn:
        """One joint step of every copy: observations, rewards (N,) float32, dones (N,) bool, N infos."""
        assert self._actions is not None, "step_async first"
        rewards = np.zeros(self.num_envs, np.float32)
        dones = np.zeros(self.num_envs, bool)
        inactive = ~self._alive.reshape(self.num_envs)
        infos: list[dict[str, Any]] = [{"inactive": bool(x)} for x in inactive]
        for c in range(self.n_copies):
            self._step_copy(c, self._actions, rewards, dones, infos)
        self.last_inactive = inactive
        return self._observations(), rewards, dones, infos

    def _step_copy(self, c: int, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray,
                   infos: list[dict[str, Any]]) -> None:
        """Step copy c with its live agents' actions; fill its slots of ``rewards``, ``dones`` and ``infos``."""
        env, base = self.envs[c], c * self.n_agents
        live = [int(a) for a in np.flatnonzero(self._alive[c])]
        obs, rew, terminated, truncated, env_infos = env.step(
            {self.agents[a]: self._action(actions[base + a]) for a in live})
        self._write(c, obs, env_infos)
        present = set(env.agents)
        for a in live:
            agent, s = self.agents[a], base + a
            r = float(rew.get(agent, 0.0))
            rewards[s] = r
            self._returns[s] += r
            self._lengths[s] += 1
            if env_infos.get(agent):
                infos[s].update(env_infos[agent])
            term, trunc = bool(terminated.get(agent, False)), bool(truncated.get(agent, False))
            if term or trunc or agent not in present:  # its own end (vanishing counts as truncation)
                self._end_agent(c, a, not term, dones, infos)
        self._joint_lengths[c] += 1
        if self.max_episode_steps is not None and self._joint_lengths[c] >= self.max_episode_steps:
            for a in [int(a) for a in np.flatnonzero(self._alive[c])]:  # the bridge's time limit
                self._end_agent(c, a, True, dones, infos)
        for agent in present:  # agents that appear mid-episode act from the next step
            new = self._index.get(agent)
            if new is not None and not self._ended[c, new] and not self._alive[c, new] and agent in obs:
                self._alive[c, new] = True
        if self._alive[c].any():
            self._open_masks(c)
        else:
            self._end_copy(c, dones, infos)

    def _end_agent(self, c: int, a: int, truncated: bool, dones: np.ndarray, infos: list[dict[str, Any]]) -> None:
        """Agent a of copy c is done: its slot's done, final observation, bootstrap flag and episode."""
        s = c * self.n_agents + a
        self._alive[c, a], self._ended[c, a] = False, True
        dones[s] = True
        infos[s]["terminal_observation"] = self._slot_obs(s)
        infos[s]["TimeLimit.truncated"] = truncated
        infos[s]["episode"] = self._episode(s)

    def _end_copy(self, c: int, dones: np.ndarray, infos: list[dict[str, Any]]) -> None:
        """Copy c's episode is over: every slot done, the joint episode on slot c * G, a fresh episode."""
        g, base = self.n_agents, c * self.n_agents
        dones[base:base + g] = True
        infos[base]["joint_episode"] = {
            "r": {agent: float(self._returns[base + a]) for a, agent in enumerate(self.agents)},
            "l": int(self._joint_lengths[c]), "t": round(time.perf_counter() - self._t0, 6)}
        for s in range(base, base + g):
            infos[s].setdefault("TimeLimit.truncated", False)
        self.reset_infos[base:base + g] = self._reset_copy(c)

    def _reset_copy(self, c: int) -> list[dict[str, Any]]:
        """Reset copy c (with its pending seed); returns its G reset infos."""
        options = self._options[c * self.n_agents] or None
        obs, infos = self.envs[c].reset(seed=self._copy_seeds[c], options=options)
        self._copy_seeds[c] = None
        base = c * self.n_agents
        self._returns[base:base + self.n_agents] = 0.0
        self._lengths[base:base + self.n_agents] = 0
        self._joint_lengths[c] = 0
        present = set(self.envs[c].agents)
        self._alive[c] = [agent in present and agent in obs for agent in self.agents]
        self._ended[c] = False
        self._write(c, obs, infos)
        return [dict(infos.get(agent, {})) for agent in self.agents]

    def _write(self, c: int, obs: dict[str, Any], infos: dict[str, Any]) -> None:
        """Copy c's new observations (and masks, state) into the slot arrays; absent agents keep their last."""
        base, transform, masked = c * self.n_agents, self.spaces.transform, self._masks is not None
        for agent, o in obs.items():
            a = self._index.get(agent)
            if a is None:
                continue
            s = base + a
            if masked:
                mask = o["action_mask"] if isinstance(o, dict) and "action_mask" in o else \
                    infos.get(agent, {}).get("action_mask")
                self._masks[s] = True if mask is None else np.asarray(mask, bool)  # type: ignore[index]
            if isinstance(o, dict):
                o = o["observation"]
            if transform is not None:
                o = transform(o)
            try:
                if self.spaces.flat:
                    self._obs[s, :self.spaces.widths[a]] = np.reshape(o, -1)
                else:  # images and scalars (a Discrete observation): the whole row
                    self._obs[s] = o
            except ValueError as err:  # (no cost when it fits)
                raise UserError(f"{self.name}: agent {agent}'s observation has shape {np.shape(o)}, but its "
                                f"space declares {self.envs[c].observation_space(agent)}",
                                "make observation_space(agent) match what reset() and step() return") from err
        self._open_masks(c)
        if self._state is not None:
            state = self.envs[c].state() if self.spaces.env_state else \
                self._obs[base:base + self.n_agents, :self.spaces.obs_width].astype(np.float32).reshape(-1)
            self._state[base:base + self.n_agents, :self.spaces.state_width] = np.reshape(state, -1) \
                if self.spaces.state_flat else state

    def _open_masks(self, c: int) -> None:
        """Copy c's slots that do not act next step allow everything (MaskablePPO must not see an all-False row)."""
        if self._masks is not None:
            base = c * self.n_agents
            self._masks[base:base + self.n_agents][~self._alive[c]] = True

    def _action(self, action: np.ndarray) -> Any:
        return int(action) if self._discrete else action

    def _episode(self, s: int) -> dict[str, float]:
        return {"r": float(self._returns[s]), "l": int(self._lengths[s]), "t": round(time.perf_counter() - self._t0, 6)}

    def _slot_obs(self, s: int) -> Any:
        """Slot s's current observation, copied (``(*O,)``, or ``{"obs", "state"}``)."""
        if self._state is None:
            return self._obs[s].copy()
        return {"obs": self._obs[s].copy(), "state": self._state[s].copy()}

    def _observations(self) -> VecEnvObs:
        """Copies (SB3 keeps the returned arrays as its last observation while the next step runs)."""
        if self._state is None:
            return self._obs.copy()
        return {"obs": self._obs.copy(), "state": self._state.copy()}

    def action_masks(self) -> np.ndarray:
        """``(N, A)`` bool: the legal actions of each slot (all True on inactive slots, or without masks)."""
        if self._masks is None:
            n = self.spaces.n_actions
            return np.ones((self.num_envs, n if n is not None else 1), bool)
        return self._masks.copy()

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        """One ``(H, W, 3)`` frame per copy (C frames; the envs need ``render_mode="rgb_array"``)."""
        return [env.render() for env in self.envs]

    # ------------------------------------------------------------------ attributes of the slots' envs

    def _copies(self, indices: VecEnvIndices) -> list[int]:
        return [s // self.n_agents for s in self._get_indices(indices)]

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """Each slot's env attribute (slots of one copy share it); ``action_masks`` is the bridge's own."""
        if attr_name == "action_masks":
            return [self.action_masks for _ in self._get_indices(indices)]
        values = {c: _attribute(self.envs[c], attr_name) for c in set(self._copies(indices))}
        return [values[c] for c in self._copies(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set the attribute on each copy named by the slots ``indices`` (once per copy)."""
        for c in set(self._copies(indices)):
            setattr(self.envs[c].unwrapped if hasattr(self.envs[c], "unwrapped") else self.envs[c], attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
                   **method_kwargs: Any) -> list[Any]:
        """Call a method once per copy and give each slot its copy's result; ``action_masks`` gives slot rows."""
        if method_name == "action_masks":
            masks = self.action_masks()
            return [masks[s] for s in self._get_indices(indices)]
        results = {c: _attribute(self.envs[c], method_name)(*method_args, **method_kwargs)
                   for c in dict.fromkeys(self._copies(indices))}
        return [results[c] for c in self._copies(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]


def _attribute(env: Any, name: str) -> Any:
    """``env.name``, looked up on the unwrapped env too (PettingZoo wrappers do not forward every attribute)."""
    try:
        return getattr(env, name)
    except AttributeError:
        inner = getattr(env, "unwrapped", env)
        if inner is env:
            raise
        return getattr(inner, name)


def make_parallel_vec_env(make: Callable[[], Any], n_copies: int, options: MultiAgentOptions | dict[str, Any] | None,
                          name: str, seed: int | None = None, max_episode_steps: int | None = None) -> ParallelVecEnv:
    """``n_copies`` copies from ``make`` as a :class:`ParallelVecEnv`, seeded (copy c: ``seed + c``) when given."""
    venv = ParallelVecEnv([make() for _ in range(n_copies)], options, name, max_episode_steps)
    if seed is not None:
        venv.seed(seed)
        venv.action_space.seed(seed)
    return venv
