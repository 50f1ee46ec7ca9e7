"""The course's advantage estimators against hand-computed and brute-force values.

Shapes: T steps, N envs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F  # noqa: N812

from gymsuite.agents.algorithms.advantages import (
    ESTIMATORS,
    Rollout,
    discounted_returns,
    gae,
    next_values_from,
)

GAMMA = 0.5


@pytest.fixture
def rollout() -> Rollout:
    """T=5, N=2. Env 0 terminates after step 1; env 1 is truncated by a time limit after step 2.

    Both episodes still running at the rollout cut (step 4) are continued by V(s_5).
    """
    rewards = np.array([[1, 2, 3, 4, 5], [1, 1, 1, 1, 1]], dtype=np.float32).T
    values = np.array([[10, 20, 30, 40, 50], [2, 4, 6, 8, 10]], dtype=np.float32).T
    terminated = np.zeros((5, 2), dtype=bool)
    truncated = np.zeros((5, 2), dtype=bool)
    terminated[1, 0] = True
    truncated[2, 1] = True
    final_values = np.zeros((5, 2), dtype=np.float32)
    final_values[2, 1] = 100.0  # V(final observation) of env 1's truncated episode
    last_values = np.array([60.0, 12.0], dtype=np.float32)
    next_values = next_values_from(values, last_values, terminated, truncated, final_values)
    return Rollout(rewards, values, next_values, terminated, truncated)


def cols(env0: list[float], env1: list[float]) -> np.ndarray:
    """Expected ``(T, N)`` array from one list per env."""
    return np.array([env0, env1], dtype=np.float64).T


def test_next_values_follow_the_auto_reset_rules(rollout: Rollout) -> None:
    # env 0: V(s_1), 0 at termination, then V(s_3), V(s_4), V(s_5) at the cut;
    # env 1: V(s_1), V(s_2), V(final obs) at truncation, V(s_4), V(s_5).
    np.testing.assert_allclose(rollout.next_values, cols([20, 0, 40, 50, 60], [4, 6, 100, 10, 12]))


def test_termination_wins_over_truncation() -> None:
    one = np.ones((1, 1))
    both = np.ones((1, 1), dtype=bool)
    assert next_values_from(one, np.ones(1), both, both, 5 * one)[0, 0] == 0.0


# Hand computation, gamma = 0.5, with the bootstrap by next_values:
#   env 0: G'_4 = 5 + .5*60 = 35, G'_3 = 4 + .5*35 = 21.5, G'_2 = 3 + .5*21.5 = 13.75,
#          G'_1 = 2 (terminated), G'_0 = 1 + .5*2 = 2
#   env 1: G'_4 = 1 + .5*12 = 7, G'_3 = 1 + .5*7 = 4.5, G'_2 = 1 + .5*100 = 51 (truncated),
#          G'_1 = 1 + .5*51 = 26.5, G'_0 = 1 + .5*26.5 = 14.25
RETURNS = cols([2, 2, 13.75, 21.5, 35], [14.25, 26.5, 51, 4.5, 7])
VALUES = cols([10, 20, 30, 40, 50], [2, 4, 6, 8, 10])
TD_TARGETS = cols([1 + 10, 2 + 0, 3 + 20, 4 + 25, 5 + 30], [1 + 2, 1 + 3, 1 + 50, 1 + 5, 1 + 6])


def test_discounted_returns_bootstrap_at_truncation_and_cut(rollout: Rollout) -> None:
    np.testing.assert_allclose(discounted_returns(rollout, GAMMA), RETURNS)


def critic_free(rollout: Rollout) -> Rollout:
    """The rollout as a critic-free version sees it: V = 0 everywhere."""
    zeros = np.zeros_like(rollout.rewards)
    return Rollout(rollout.rewards, zeros, zeros, rollout.terminated, rollout.truncated)


def test_version_0_is_the_immediate_reward(rollout: Rollout) -> None:
    advantages, _ = ESTIMATORS["0"](critic_free(rollout), GAMMA, 0.0)
    np.testing.assert_allclose(advantages, rollout.rewards)


def test_version_1_sums_future_rewards_undiscounted(rollout: Rollout) -> None:
    # env 0: episode [1, 2] ends at step 1; [3, 4, 5] is cut by the rollout. env 1: [1, 1, 1] | [1, 1].
    advantages, _ = ESTIMATORS["1"](critic_free(rollout), GAMMA, 0.0)
    np.testing.assert_allclose(advantages, cols([3, 2, 12, 9, 5], [3, 2, 1, 2, 1]))


def test_version_2_discounts(rollout: Rollout) -> None:
    advantages, _ = ESTIMATORS["2"](critic_free(rollout), GAMMA, 0.0)
    np.testing.assert_allclose(advantages, cols([2, 2, 6.25, 6.5, 5], [1.75, 1.5, 1, 1.5, 1]))


def test_version_3_subtracts_the_mean_return(rollout: Rollout) -> None:
    advantages, _ = ESTIMATORS["3"](critic_free(rollout), GAMMA, 0.0)
    mean = (2 + 2 + 6.25 + 6.5 + 5 + 1.75 + 1.5 + 1 + 1.5 + 1) / 10  # 2.85
    np.testing.assert_allclose(advantages, cols([2, 2, 6.25, 6.5, 5], [1.75, 1.5, 1, 1.5, 1]) - mean)
    assert (advantages > 0).any() and (advantages < 0).any()


def test_version_3_5_mc_fits_the_critic_to_returns(rollout: Rollout) -> None:
    advantages, targets = ESTIMATORS["3.5-mc"](rollout, GAMMA, 0.0)
    np.testing.assert_allclose(advantages, RETURNS - VALUES)
    np.testing.assert_allclose(targets, RETURNS)


def test_version_3_5_td_fits_the_critic_to_td_targets(rollout: Rollout) -> None:
    advantages, targets = ESTIMATORS["3.5-td"](rollout, GAMMA, 0.0)
    np.testing.assert_allclose(advantages, RETURNS - VALUES)
    np.testing.assert_allclose(targets, TD_TARGETS)


def test_version_4_is_the_td_error_at_lambda_0(rollout: Rollout) -> None:
    advantages, targets = ESTIMATORS["4"](rollout, GAMMA, 0.0)
    np.testing.assert_allclose(advantages, cols([1, -18, -7, -11, -15], [1, 0, 45, -2, -3]))
    np.testing.assert_allclose(targets, TD_TARGETS)


def test_version_4_gae_lambda_half(rollout: Rollout) -> None:
    # A_t = delta_t + (gamma * lam = .25) A_{t+1}, restarted after each episode end:
    # env 0: -15, -11 - 3.75, -7 - 3.6875, -18 (terminated), 1 - 4.5
    # env 1: -3, -2 - .75, 45 (truncated), 0 + 11.25, 1 + 2.8125
    advantages, targets = ESTIMATORS["4"](rollout, GAMMA, 0.5)
    expected = cols([-3.5, -18, -10.6875, -14.75, -15], [3.8125, 11.25, 45, -2.75, -3])
    np.testing.assert_allclose(advantages, expected)
    np.testing.assert_allclose(targets, expected + VALUES)


def test_version_4_at_lambda_1_is_version_3_5_mc(rollout: Rollout) -> None:
    for got, want in zip(ESTIMATORS["4"](rollout, GAMMA, 1.0), ESTIMATORS["3.5-mc"](rollout, GAMMA, 0.0),
                         strict=True):
        np.testing.assert_allclose(got, want)


def test_registry_lists_the_course_versions() -> None:
    assert list(ESTIMATORS) == ["0", "1", "2", "3", "3.5-mc", "3.5-td", "4"]
    assert [e.needs_critic for e in ESTIMATORS.values()] == [False] * 4 + [True] * 3


def test_rollout_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="next_values"):
        Rollout(np.zeros((3, 2)), np.zeros((3, 2)), np.zeros((3, 1)), np.zeros((3, 2), bool), np.zeros((3, 2), bool))


# ------------------------------------------------------------------ brute force
def random_rollout(seed: int, steps: int = 40, envs: int = 3) -> Rollout:
    """Random rewards, values and episode ends, with next_values by the collector's rule."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(steps, envs))
    ends = rng.random((steps, envs)) < 0.15
    truncated = ends & (rng.random((steps, envs)) < 0.5)
    terminated = ends & ~truncated
    next_values = next_values_from(values, rng.normal(size=envs), terminated, truncated,
                                   rng.normal(size=(steps, envs)))
    return Rollout(rng.normal(size=(steps, envs)), values, next_values, terminated, truncated)


def brute_force(rollout: Rollout, gamma: float, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Returns and GAE from their definitions: explicit sums up to the end of each step's episode."""
    steps, envs = rollout.rewards.shape
    returns, advantages = np.zeros((steps, envs)), np.zeros((steps, envs))
    for n in range(envs):
        for t in range(steps):
            end = t
            while end < steps - 1 and not (rollout.terminated[end, n] or rollout.truncated[end, n]):
                end += 1
            ks = np.arange(t, end + 1)
            returns[t, n] = (gamma ** (ks - t) @ rollout.rewards[ks, n]
                             + gamma ** (end + 1 - t) * rollout.next_values[end, n])
            deltas = rollout.rewards[ks, n] + gamma * rollout.next_values[ks, n] - rollout.values[ks, n]
            advantages[t, n] = (gamma * lam) ** (ks - t) @ deltas
    return returns, advantages


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gae_lambda_1_plus_values_is_the_discounted_return(seed: int) -> None:
    rollout = random_rollout(seed)
    np.testing.assert_allclose(gae(rollout, 0.97, 1.0) + rollout.values, discounted_returns(rollout, 0.97))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_returns_and_gae_match_their_definitions(seed: int) -> None:
    rollout = random_rollout(seed)
    returns, advantages = brute_force(rollout, 0.9, 0.8)
    assert (rollout.terminated.any() and rollout.truncated.any()), "the rollout should exercise both ends"
    np.testing.assert_allclose(discounted_returns(rollout, 0.9), returns)
    np.testing.assert_allclose(gae(rollout, 0.9, 0.8), advantages)


# ------------------------------------------------------------ the notes' MC vs TD
# Eight episodes, gamma = 1: (s_a, r=0) -> (s_b, r=0) end; six times (s_b, r=1) end; once (s_b, r=0) end.
STATES = np.array([0, 1, 1, 1, 1, 1, 1, 1, 1])  # 0 = s_a, 1 = s_b, one env (N = 1), T = 9
REWARDS = np.array([0, 0, 1, 1, 1, 1, 1, 1, 0], dtype=np.float64)
TERMINATED = np.array([False] + [True] * 8)


def fit_tabular_critic(version: str, lam: float = 0.0, iterations: int = 300) -> np.ndarray:
    """Train a table ``V[state]`` as the algorithm trains its critic: each iteration builds the
    rollout from the current V, asks the version's estimator for targets, and takes one SGD
    step on the same loss ``mse(V(s_t), target_t)``."""
    table = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.SGD([table], lr=0.5)
    none = np.zeros((len(STATES), 1), dtype=bool)
    for _ in range(iterations):
        values = table.detach().numpy()[STATES][:, None].astype(np.float64)  # (T, 1)
        next_values = next_values_from(values, values[:1, 0], TERMINATED[:, None], none, np.zeros_like(values))
        rollout = Rollout(REWARDS[:, None], values, next_values, TERMINATED[:, None], none)
        _, targets = ESTIMATORS[version](rollout, 1.0, lam)
        loss = F.mse_loss(table[STATES], torch.as_tensor(targets[:, 0], dtype=torch.float32))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return table.detach().numpy()


def test_monte_carlo_critic_gives_v_a_0() -> None:
    np.testing.assert_allclose(fit_tabular_critic("3.5-mc"), [0.0, 0.75], atol=1e-4)


def test_temporal_difference_critic_gives_v_a_three_quarters() -> None:
    np.testing.assert_allclose(fit_tabular_critic("3.5-td"), [0.75, 0.75], atol=1e-4)


def test_version_4_critic_is_td_at_lambda_0_and_mc_at_lambda_1() -> None:
    np.testing.assert_allclose(fit_tabular_critic("4", lam=0.0), [0.75, 0.75], atol=1e-4)
    np.testing.assert_allclose(fit_tabular_critic("4", lam=1.0), [0.0, 0.75], atol=1e-4)
