"""MAPPO's policy: the actor reads only ``obs["obs"]``, the critic only ``obs["state"]``; its zip loads both ways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

from gymsuite.agents.algorithms import registry
from gymsuite.agents.files.safeload import keep_description, load_safely
from gymsuite.agents.multiagent import mappo
from gymsuite.agents.multiagent.buffer import InactiveMarks, MaskedDictRolloutBuffer
from gymsuite.agents.multiagent.mappo import CentralCriticPolicy, force_state
from gymsuite.common.errors import UserError

SPACE = spaces.Dict({"obs": spaces.Box(-1, 1, (3,), np.float32), "state": spaces.Box(-1, 1, (7,), np.float32)})


class DictToy(gym.Env):
    """Observations ``{"obs": (3,), "state": (7,)}``; reward 1 when the action is the sign of state[0]."""

    observation_space, action_space = SPACE, spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[dict[str, np.ndarray], dict]:
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def _obs(self) -> dict[str, np.ndarray]:
        self.last = {k: self.np_random.uniform(-1, 1, s.shape).astype(np.float32) for k, s in SPACE.spaces.items()}
        return self.last

    def step(self, action: int) -> tuple[dict[str, np.ndarray], float, bool, bool, dict]:
        reward = float(action == int(self.last["state"][0] > 0))
        self.t += 1
        return self._obs(), reward, False, self.t >= 8, {}


def _obs_batch(seed: int = 0) -> dict[str, th.Tensor]:
    rng = np.random.default_rng(seed)
    return {k: th.as_tensor(rng.uniform(-1, 1, (5, *s.shape)), dtype=th.float32) for k, s in SPACE.spaces.items()}


def test_actor_ignores_the_state_and_critic_ignores_the_observation() -> None:
    policy = CentralCriticPolicy(SPACE, spaces.Discrete(4), lambda _: 1e-3, net_arch=[16])
    obs = _obs_batch()
    other_state = {**obs, "state": obs["state"] + 1.0}
    other_obs = {**obs, "obs": obs["obs"] + 1.0}
    with th.no_grad():
        logits = policy.get_distribution(obs).distribution.logits
        np.testing.assert_allclose(policy.get_distribution(other_state).distribution.logits, logits)
        assert not th.allclose(policy.get_distribution(other_obs).distribution.logits, logits)
        values = policy.predict_values(obs)
        np.testing.assert_allclose(policy.predict_values(other_obs), values)
        assert not th.allclose(policy.predict_values(other_state), values)
    assert policy.pi_features_extractor.features_dim == 3 and policy.vf_features_extractor.features_dim == 7
    assert policy.mlp_extractor.value_net[0].in_features == 7 and policy.mlp_extractor.policy_net[0].in_features == 3


def test_policy_refuses_observations_without_a_state() -> None:
    with pytest.raises(ValueError, match="state"):
        CentralCriticPolicy(spaces.Box(-1, 1, (3,)), spaces.Discrete(2), lambda _: 1e-3)


def test_mappo_is_registered_and_builds_the_central_critic() -> None:
    spec = registry.get("mappo")
    model = spec.make_model("MlpPolicy", DummyVecEnv([DictToy]), {"n_steps": 8, "batch_size": 8, "device": "cpu"})
    assert isinstance(model.policy, CentralCriticPolicy)
    with pytest.raises(UserError, match="policy"):
        spec.make_model("CnnPolicy", DummyVecEnv([DictToy]), {"n_steps": 8})


def test_force_state() -> None:
    hyper: dict[str, Any] = {"multiagent": {"agent_id": True}}
    assert force_state(hyper)["multiagent"] == {"agent_id": True, "state": True}
    assert hyper == {"multiagent": {"agent_id": True}}  # a new mapping: the validated one is not changed
    with pytest.raises(UserError, match="state"):
        force_state({"multiagent": {"state": False}})


def test_zip_loads_with_plain_ppo_and_the_safe_loader(tmp_path: Path) -> None:
    env = DummyVecEnv([DictToy, DictToy])
    model = PPO(CentralCriticPolicy, env, n_steps=16, batch_size=32, seed=0, device="cpu",
                rollout_buffer_class=MaskedDictRolloutBuffer, policy_kwargs={"net_arch": [8]})
    model.learn(32, callback=InactiveMarks())
    keep_description(model)  # as every gymsuite run does: the Dict space loads without unpickling
    model.save(tmp_path / "m.zip")
    obs = env.reset()
    want, _ = model.predict(obs, deterministic=True)
    safe = load_safely(PPO, tmp_path / "m.zip", mappo.SPECS[0].saved_classes)  # the classes mappo's spec declares
    for loaded in (PPO.load(tmp_path / "m.zip", device="cpu"), safe):
        assert isinstance(loaded.policy, CentralCriticPolicy)
        assert loaded.rollout_buffer_class is MaskedDictRolloutBuffer
        np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], want)
        for mine, theirs in zip(model.policy.parameters(), loaded.policy.parameters(), strict=True):
            np.testing.assert_array_equal(mine.detach().numpy(), theirs.detach().numpy())
