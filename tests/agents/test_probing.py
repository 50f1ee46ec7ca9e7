"""Probing's rollout: observation and state read at the same step, CartPole's names, the encoder of each policy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from gymsuite.agents.saved.loading import load_agent, make_agent_env
from gymsuite.agents.saved.probing import collect, encoder_of, features, fresh_policy, probe_agent
from gymsuite.envs.factory import make_env


def test_cartpole_state_is_its_observation_at_every_step(cartpole_run: Path) -> None:
    # CartPole-v1's observation is its state: a rollout that paired them one step apart would show it here.
    agent = load_agent(str(cartpole_run))
    venv = make_agent_env(agent, seed=5)
    rollout = collect(agent, venv, episodes=3)
    assert rollout.names == ["x", "x_dot", "theta", "theta_dot"]
    np.testing.assert_allclose(rollout.observations, rollout.states, rtol=1e-5, atol=1e-6)
    assert sorted(set(rollout.episodes.tolist())) == [0, 1, 2]
    result = probe_agent(agent, venv, episodes=4, seed=0, random_init=True)
    venv.close()
    # SB3's MLP policy's extractor is Flatten (the observation itself): every variable is linear in it
    assert all(result["r2"][n] > 0.999 and result["r2_random_init"][n] > 0.999 for n in rollout.names)


def test_encoder_of_each_policy_kind_and_a_fresh_copy_differs() -> None:
    venv = make_env("CartPole-v1", n_envs=1, seed=0)
    ppo = PPO("MlpPolicy", venv, policy_kwargs={"share_features_extractor": False}, device="cpu", seed=0)
    dqn = DQN("MlpPolicy", venv, device="cpu", seed=0)
    assert encoder_of(ppo.policy) is ppo.policy.pi_features_extractor is not ppo.policy.vf_features_extractor
    assert encoder_of(dqn.policy) is dqn.policy.q_net.features_extractor
    fresh = fresh_policy(ppo.policy, seed=1)
    assert type(fresh) is type(ppo.policy) and fresh is not ppo.policy
    assert not th.equal(fresh.mlp_extractor.policy_net[0].weight, ppo.policy.mlp_extractor.policy_net[0].weight)
    obs = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    assert features(ppo.policy, obs).shape == (5, 4)
    venv.close()


class _Loaded(BaseFeaturesExtractor):
    """Stands for an encoder whose constructor loads fixed (pre-trained) weights."""

    def __init__(self, observation_space: spaces.Space) -> None:
        super().__init__(observation_space, features_dim=8)
        self.linear = nn.Linear(4, 8)
        with th.no_grad():
            self.linear.weight.copy_(th.arange(32.0).reshape(8, 4))

    def forward(self, obs: th.Tensor) -> th.Tensor:
        return self.linear(obs)


def test_fresh_encoder_is_random_even_when_its_constructor_loads_weights() -> None:
    venv = make_env("CartPole-v1", n_envs=1, seed=0)
    ppo = PPO("MlpPolicy", venv, policy_kwargs={"features_extractor_class": _Loaded, "ortho_init": False},
              device="cpu", seed=0)
    venv.close()
    fresh = encoder_of(fresh_policy(ppo.policy, seed=1))
    assert isinstance(fresh, _Loaded) and not th.equal(fresh.linear.weight, th.arange(32.0).reshape(8, 4))
    assert float(fresh.linear.weight.detach().abs().max()) <= 0.5  # PyTorch's default: U(-1/sqrt(4), 1/sqrt(4))
