"""The masked rollout buffers leave out inactive slots (done agents) from everything PPO computes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import VecEnv

from gymsuite.agents.multiagent.buffer import (
    InactiveMarks,
    MaskedDictRolloutBuffer,
    MaskedRolloutBuffer,
    buffer_class_for,
    inactive_of,
)

T, N, D = 6, 4, 3  # steps, slots, observation width


class FakeParallel(VecEnv):
    """A bridge-like VecEnv: ``n_copies`` copies x 3 agents, episodes of ``length`` steps.

    Agent 0 acts every step; agents 1 and 2 act at the first step only (then terminated) and are
    inactive until the copy ends: their placeholders carry the same observation as an active step
    (a one-hot target) but a GARBAGE reward of 5 for the wrong action. An active step pays 1 for
    the action equal to the target. A learner fed the placeholders learns the wrong mapping.
    """

    n_agents = 3

    def __init__(self, n_copies: int = 2, length: int = 4, seed: int = 0) -> None:
        self.n_copies, self.length = n_copies, length
        self.agents = [f"agent_{i}" for i in range(self.n_agents)]
        super().__init__(n_copies * self.n_agents, spaces.Box(0.0, 1.0, (2,), np.float32), spaces.Discrete(2))
        self.rng = np.random.default_rng(seed)
        self.t = np.zeros(n_copies, dtype=int)
        self.targets = np.zeros(self.num_envs, dtype=int)
        self.returns = np.zeros(self.num_envs)

    def _obs(self) -> np.ndarray:
        self.targets = self.rng.integers(0, 2, self.num_envs)
        return np.eye(2, dtype=np.float32)[self.targets]

    def reset(self) -> np.ndarray:
        self.t[:] = 0
        return self._obs()

    def step_async(self, actions: np.ndarray) -> None:
        self.actions = np.asarray(actions).reshape(-1)

    def step_wait(self) -> Any:
        rewards, dones = np.zeros(self.num_envs, np.float32), np.zeros(self.num_envs, bool)
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        right = self.actions == self.targets
        obs = self._obs()
        for c in range(self.n_copies):
            for a in range(self.n_agents):
                s = c * self.n_agents + a
                if a > 0 and self.t[c] > 0:
                    infos[s]["inactive"] = True
                    rewards[s] = 5.0 * (not right[s])  # garbage the bridge would never send
                else:
                    rewards[s] = float(right[s])
                    self.returns[s] += rewards[s]
                if a > 0 and self.t[c] == 0:
                    dones[s] = True
                    infos[s].update(terminal_observation=obs[s], episode={"r": self.returns[s], "l": 1, "t": 0.0})
            self.t[c] += 1
            if self.t[c] == self.length:
                slots = slice(c * self.n_agents, (c + 1) * self.n_agents)
                dones[slots] = True
                self.t[c] = 0
                infos[c * self.n_agents]["episode"] = {"r": self.returns[c * self.n_agents], "l": self.length, "t": 0}
                self.returns[slots] = 0.0
        return obs, rewards, dones, infos

    def close(self) -> None: ...
    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]: return [None] * self.num_envs
    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None: ...
    def env_method(self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any) -> list[Any]: return []
    def env_is_wrapped(self, wrapper_class: Any, indices: Any = None) -> list[bool]: return [False] * self.num_envs
    def seed(self, seed: int | None = None) -> list[Any]:
        self.rng = np.random.default_rng(seed)
        return [seed] * self.num_envs


def _space() -> spaces.Box:
    return spaces.Box(-np.inf, np.inf, (D,), np.float32)


def _fill(buffer: RolloutBuffer, inactive: np.ndarray, garbage: float, seed: int = 0) -> None:
    """Random transitions; inactive slots get ``garbage`` observations, rewards and values. An agent's
    last active step before an inactive one is its end (a done: the next step starts an episode)."""
    rng = np.random.default_rng(seed)
    for t in range(T):
        obs = rng.normal(size=(N, D)).astype(np.float32)
        reward, value = rng.normal(size=N).astype(np.float32), rng.normal(size=N).astype(np.float32)
        starts = (t > 0) & inactive[t] & ~inactive[t - 1] if t > 0 else np.zeros(N, bool)
        obs[inactive[t]], reward[inactive[t]], value[inactive[t]] = garbage, garbage, garbage
        if isinstance(buffer, MaskedRolloutBuffer):
            buffer.mark(inactive[t])
        buffer.add(obs, rng.integers(0, 2, N), reward, starts, th.as_tensor(value), th.as_tensor(rng.normal(size=N)))
    buffer.compute_returns_and_advantage(th.zeros(N), np.zeros(N, bool))


INACTIVE = np.zeros((T, N), bool)
INACTIVE[3:, 1] = True  # agent 1 done after step 2
INACTIVE[1:5, 3] = True  # agent 3 done after step 0; step 5 starts a fresh episode


def test_get_yields_exactly_the_active_steps_whatever_the_garbage() -> None:
    plain = RolloutBuffer(T, _space(), spaces.Discrete(2), n_envs=N, gamma=0.9, gae_lambda=0.8)
    _fill(plain, INACTIVE, garbage=0.0)
    yielded = {}
    for garbage in (0.0, 1e6):
        masked = MaskedRolloutBuffer(T, _space(), spaces.Discrete(2), n_envs=N, gamma=0.9, gae_lambda=0.8)
        _fill(masked, INACTIVE, garbage)
        (batch,) = masked.get()  # one batch of every row
        order = np.argsort(batch.observations[:, 0].numpy())
        yielded[garbage] = {k: getattr(batch, k).numpy()[order] for k in ("observations", "advantages", "returns")}
        assert len(batch.observations) == (~INACTIVE).sum() == masked.n_active
        assert np.abs(batch.observations.numpy()).max() < 100  # no placeholder among them
        assert len(masked.values) == (~INACTIVE).sum()  # what PPO's explained variance reads
    for key in yielded[0.0]:
        np.testing.assert_allclose(yielded[0.0][key], yielded[1e6][key], rtol=1e-6)
    # The active advantages are GAE's on the same data with the agents' ends as dones (nothing leaks back).
    active = ~INACTIVE
    order = np.argsort(plain.observations[active][:, 0])
    np.testing.assert_allclose(yielded[0.0]["advantages"], plain.advantages[active][order], rtol=1e-5)


def test_minibatches_partition_the_active_steps() -> None:
    masked = MaskedRolloutBuffer(T, _space(), spaces.Discrete(2), n_envs=N)
    _fill(masked, INACTIVE, garbage=1e6)
    sizes = [len(b.observations) for b in masked.get(batch_size=5)]
    assert sum(sizes) == (~INACTIVE).sum() and max(sizes) == 5


def test_add_without_marks_fails() -> None:
    masked = MaskedRolloutBuffer(T, _space(), spaces.Discrete(2), n_envs=N)
    with pytest.raises(RuntimeError, match="InactiveMarks"):
        masked.add(np.zeros((N, D)), np.zeros(N), np.zeros(N), np.zeros(N), th.zeros(N), th.zeros(N))


def test_dict_buffer_and_class_choice() -> None:
    space = spaces.Dict({"obs": _space(), "state": spaces.Box(-1, 1, (5,), np.float32)})
    assert buffer_class_for(space) is MaskedDictRolloutBuffer and buffer_class_for(_space()) is MaskedRolloutBuffer
    masked = MaskedDictRolloutBuffer(2, space, spaces.Discrete(2), n_envs=2)
    for t in range(2):
        masked.mark(np.array([False, t == 1]))
        masked.add({"obs": np.full((2, D), t, np.float32), "state": np.zeros((2, 5), np.float32)}, np.zeros(2),
                   np.zeros(2), np.zeros(2), th.zeros(2), th.zeros(2))
    masked.compute_returns_and_advantage(th.zeros(2), np.zeros(2, bool))
    (batch,) = masked.get()
    assert batch.observations["obs"].shape == (3, D) and batch.observations["state"].shape == (3, 5)
    assert inactive_of([{}, {"inactive": True}]).tolist() == [False, True]


def test_ppo_update_equals_the_update_without_the_inactive_steps() -> None:
    """One PPO update from the masked buffer equals one from a plain buffer holding only the active rows."""
    env = FakeParallel(n_copies=2, length=4)
    kwargs = dict(n_steps=8, batch_size=48, n_epochs=3, seed=1, device="cpu")
    masked = PPO("MlpPolicy", env, rollout_buffer_class=MaskedRolloutBuffer, **kwargs)
    masked.learn(8 * env.num_envs, callback=InactiveMarks())  # collect one rollout, train once
    buf = masked.rollout_buffer
    reference = PPO("MlpPolicy", env, **kwargs)
    reference.policy.load_state_dict(_params_before_training(env, kwargs))
    rows = len(buf.values)
    plain = RolloutBuffer(rows, env.observation_space, env.action_space, n_envs=1)
    plain.observations[:, 0], plain.actions[:, 0] = buf.observations, buf.actions
    for name in ("values", "log_probs", "advantages", "returns"):
        getattr(plain, name)[:, 0] = getattr(buf, name).reshape(-1)
    plain.full = True
    reference.rollout_buffer = plain
    reference.batch_size = rows
    reference._current_progress_remaining = 1.0
    reference.set_logger(configure(None, [""]))
    reference.train()
    for mine, theirs in zip(masked.policy.parameters(), reference.policy.parameters(), strict=True):
        np.testing.assert_allclose(mine.detach().numpy(), theirs.detach().numpy(), atol=1e-5)
    assert rows == 8 * 2 + 2 * 2 * 2  # agent 0 of each copy every step, agents 1 and 2 one step in four


def _params_before_training(env: VecEnv, kwargs: dict[str, Any]) -> dict[str, th.Tensor]:
    return PPO("MlpPolicy", env, rollout_buffer_class=MaskedRolloutBuffer, **kwargs).policy.state_dict()


@pytest.mark.parametrize("masked", [True, False])
def test_masked_garbage_does_not_mislead_learning(masked: bool) -> None:
    """With masking the policy learns the target mapping; fed the placeholders it learns the garbage's."""
    env = FakeParallel(n_copies=4, length=6)
    extra = {"rollout_buffer_class": MaskedRolloutBuffer} if masked else {}
    model = PPO("MlpPolicy", env, n_steps=16, batch_size=64, n_epochs=4, gamma=0.0, learning_rate=3e-3,
                seed=0, device="cpu", **extra)
    model.learn(3000, callback=InactiveMarks() if masked else None)
    actions, _ = model.predict(np.eye(2, dtype=np.float32), deterministic=True)
    assert (actions.tolist() == [0, 1]) is masked
