"""The ``info["env_reward"]`` rule: the innermost reward wrapper records the env's reward, outer ones keep it."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from gymsuite.envs.factory import make_env
from gymsuite.rewards.curiosity import attach
from gymsuite.rewards.env_reward import ENV_REWARD, record_env_reward, record_env_rewards
from gymsuite.rewards.learned import LearnedReward
from gymsuite.rewards.shaping import LivingTerm, TermShaping


def test_the_key_is_the_documented_one() -> None:
    assert ENV_REWARD == "env_reward"  # README and docs promise info["env_reward"]


def test_single_env_records_once_and_never_touches_the_inner_info() -> None:
    inner: dict[str, Any] = {"distance": 3}
    info = record_env_reward(inner, np.float32(-1.0))
    assert info == {"distance": 3, "env_reward": -1.0} and type(info["env_reward"]) is float
    assert inner == {"distance": 3}  # a copy: the inner env's dict is left as it was
    assert record_env_reward(info, 5.0)[ENV_REWARD] == -1.0  # an inner wrapper's value wins


def test_vector_records_each_env_once_in_place() -> None:
    infos: list[dict[str, Any]] = [{}, {ENV_REWARD: 7.0}, {"x": 1}]
    record_env_rewards(infos, np.array([1.0, 2.0, 3.0], dtype=np.float32))
    assert infos == [{ENV_REWARD: 1.0}, {ENV_REWARD: 7.0}, {"x": 1, ENV_REWARD: 3.0}]
    with pytest.raises(ValueError):
        record_env_rewards(infos, np.zeros(2))


class HalfReward:
    """Stands in for a learned reward network: 0.5 for every transition ``(B,) -> (B,)``."""

    def predict_processed(self, obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray,
                          dones: np.ndarray) -> np.ndarray:
        return np.full(len(obs), 0.5)


def test_stacked_reward_wrappers_keep_the_innermost_value() -> None:
    # the order of gymsuite.agents.run.training._build_env: learned reward, shaping, then curiosity on the VecEnv
    wrappers = [lambda env: LearnedReward(env, HalfReward(), mode="replace", scale=4.0),  # type: ignore[arg-type]
                lambda env: TermShaping(env, [LivingTerm("alive", -0.5)])]
    venv, _ = attach(make_env("CartPole-v1", n_envs=2, seed=0, reward_wrappers=wrappers), "rnd",
                     intrinsic_weight=0.0)
    venv.reset()
    for _ in range(30):
        _, rewards, _, infos = venv.step(np.array([0, 1]))
        assert np.allclose(rewards, 4 * 0.5 - 0.5)  # CartPole's 1 replaced by the learned 2, minus the penalty
        assert all(info[ENV_REWARD] == 1.0 for info in infos)  # the env's own, recorded by LearnedReward
    venv.close()


def test_the_outermost_wrapper_records_when_it_is_the_only_one() -> None:
    venv, _ = attach(make_env("CartPole-v1", n_envs=2, seed=0), "rnd")
    venv.reset()
    _, rewards, _, infos = venv.step(np.array([0, 1]))
    assert [info[ENV_REWARD] for info in infos] == rewards.tolist() == [1.0, 1.0]  # untrained: no bonus yet
    venv.close()
    env = TermShaping(gym.make("CartPole-v1"), [LivingTerm("alive", 2.0)])
    env.reset(seed=0)
    _, reward, *_, info = env.step(0)
    assert (reward, info[ENV_REWARD]) == (3.0, 1.0)
