"""The exportable modules against SB3's own code, for every action space and the normaliser (no training, no file)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from gymsuite.supervised.exportable import ActorExport, ObservationPrep, greedy, parameters_name

OBS = spaces.Box(-5, 5, (3,), np.float32)


@pytest.mark.parametrize("action_space", [spaces.Discrete(4), spaces.MultiDiscrete([3, 2, 5]), spaces.MultiBinary(3),
                                          spaces.Box(-0.5, 0.5, (2,), np.float32)])
def test_actor_export_gives_predicts_greedy_action_and_the_distributions_parameters(
        action_space: spaces.Space) -> None:
    th.manual_seed(0)
    policy = ActorCriticPolicy(OBS, action_space, lambda _: 1e-3, net_arch=[16])
    policy.set_training_mode(False)
    with th.no_grad():  # make the actions and the Box clip matter: large outputs
        policy.action_net.weight.mul_(50)
    obs = np.random.default_rng(0).uniform(-5, 5, (64, 3)).astype(np.float32)
    want, _ = policy.predict(obs, deterministic=True)
    with th.no_grad():
        action, params = ActorExport(policy, ObservationPrep())(th.as_tensor(obs))
        dist = policy.get_distribution(th.as_tensor(obs)).distribution
    np.testing.assert_array_equal(action.numpy().reshape(want.shape), want)
    if isinstance(action_space, spaces.Box):
        np.testing.assert_allclose(params.numpy(), dist.mean.numpy(), atol=1e-6)
        assert (np.abs(params.numpy()) > 0.5).any()  # some means lie outside the bounds: the action was clipped
    elif isinstance(action_space, spaces.MultiDiscrete):
        np.testing.assert_allclose(params.numpy(), th.cat([d.logits for d in dist], dim=1).numpy(), atol=1e-5)
    else:
        np.testing.assert_allclose(params.numpy(), dist.logits.numpy(), atol=1e-5)
    assert parameters_name(action_space) == ("mean" if isinstance(action_space, spaces.Box) else "logits")


def test_observation_prep_is_vecnormalize_and_the_transpose() -> None:
    venv = VecNormalize(DummyVecEnv([lambda: gym.make("Pendulum-v1")]), clip_obs=2.0)
    rng = np.random.default_rng(1)
    for _ in range(50):  # statistics far from zero mean and unit variance
        venv.obs_rms.update(rng.normal([3, -1, 4], [2, 0.5, 3], (8, 3)))
    raw = rng.normal([3, -1, 4], [4, 1, 6], (32, 3)).astype(np.float32)
    prep = ObservationPrep(venv.obs_rms.mean, venv.obs_rms.var, venv.epsilon, venv.clip_obs)
    got = prep(th.as_tensor(raw)).numpy()
    np.testing.assert_allclose(got, venv.normalize_obs(raw), atol=1e-5)
    assert np.abs(got).max() == pytest.approx(2.0)  # clipped as VecNormalize clips
    image = th.randint(0, 256, (2, 6, 8, 3), dtype=th.uint8)
    np.testing.assert_array_equal(ObservationPrep(transpose=True)(image).numpy(), image.numpy().transpose(0, 3, 1, 2))


def test_greedy_refuses_an_unknown_action_space() -> None:
    with pytest.raises(TypeError, match="no greedy action"):
        greedy(spaces.Text(5), th.zeros(1, 2))
