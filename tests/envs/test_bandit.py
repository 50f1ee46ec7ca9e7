"""Bernoulli bandits: the env, its arm probabilities as task parameters, and the reference strategies."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import gymsuite  # noqa: F401  (registers gymsuite/TwoArmedBandit-v0)
from gymsuite.common.errors import UserError
from gymsuite.envs.custom.bandit import BernoulliBandit, reference_returns
from gymsuite.envs.tasks import build_task, parse_task, resolve_task


def test_arms_pay_with_their_probability_and_the_episode_is_its_pulls() -> None:
    env = gym.make("gymsuite/TwoArmedBandit-v0", p0=0.2, p1=0.9, pulls=4000)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (1,) and env.action_space == gym.spaces.Discrete(2)
    rewards = {0: [], 1: []}
    for t in range(4000):
        arm = t % 2
        obs, reward, terminated, truncated, info = env.step(arm)
        rewards[arm].append(reward)
        assert not truncated and terminated == (t == 3999) and info["best"] == 0.9
    assert np.mean(rewards[0]) == pytest.approx(0.2, abs=0.03)
    assert np.mean(rewards[1]) == pytest.approx(0.9, abs=0.03)


def test_probabilities_are_task_parameters_checked_against_0_1() -> None:
    resolved = resolve_task(parse_task("gymsuite/TwoArmedBandit-v0 p0=0.25 p1=1 pulls=10"))
    env = build_task(resolved)
    env.reset(seed=0)
    assert list(env.unwrapped.probs) == [0.25, 1.0] and env.unwrapped.pulls == 10
    with pytest.raises(UserError, match=r"p0=1.5 breaks the env: p0 must be in \[0, 1\]"):
        resolve_task(parse_task("gymsuite/TwoArmedBandit-v0 p0=1.5"))
    with pytest.raises(UserError, match=r"p1=-0.1 is outside \[0, 1\]"):
        BernoulliBandit((0.5, -0.1))


def test_ucb_and_thompson_beat_random_and_the_oracle_beats_them() -> None:
    tasks = np.random.default_rng(0).uniform(size=(100, 2))
    mean = {name: reference_returns(name, tasks, 100, 20, seed=1) for name in ("ucb1", "thompson", "random", "oracle")}
    assert mean["ucb1"].shape == (100, 20)
    m = {k: float(v.mean()) for k, v in mean.items()}
    # random pulls earn the mean of the two arms (~50 per 100 pulls); the best arm ~67; UCB1 and Thompson in between
    assert m["random"] == pytest.approx(100 * tasks.mean(), abs=1.0)
    assert m["random"] + 8 < m["ucb1"] < m["oracle"] and m["random"] + 8 < m["thompson"] < m["oracle"]
    again = reference_returns("ucb1", tasks, 100, 20, seed=1)
    assert np.array_equal(again, mean["ucb1"])  # seeded


def test_the_bayes_optimal_policy_matches_its_value_and_beats_the_others() -> None:
    from gymsuite.envs.custom.bandit import bayes_policy

    policy, value = bayes_policy(2)
    # pull 1: 1/2; pull 2: stay after a success (posterior 2/3), switch after a failure (1/2): 1/2 + (2/3 + 1/2) / 2
    assert value == pytest.approx(13 / 12) and not policy[0][0, 0, 0]  # a tie: arm 0
    assert policy[1][1, 0, 0] and not policy[1][1, 1, 0]  # arm 0 failed: switch; it paid: stay
    tasks = np.random.default_rng(0).uniform(size=(2000, 2))  # the prior the policy is optimal for
    got = {name: reference_returns(name, tasks, 10, 5, seed=2).mean() for name in ("bayes", "thompson", "ucb1")}
    assert got["bayes"] == pytest.approx(bayes_policy(10)[1], abs=0.05)  # simulation and dynamic programme agree
    assert got["bayes"] > got["thompson"] + 0.1 and got["bayes"] > got["ucb1"] + 0.1
    with pytest.raises(UserError, match="tabulated up to 200 pulls"):
        bayes_policy(500)
