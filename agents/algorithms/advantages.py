"""Advantage estimators: the course's policy-gradient versions 0-4 as pure functions.

Hung-yi Lee's ML 2022 lectures (RL 1-3) define each version of policy gradient
by the weight ``A_t`` it gives to the pair ``(s_t, a_t)`` in the loss
``-sum_t A_t log pi(a_t | s_t)``:

========  ==============================================================
version   A_t
========  ==============================================================
0         r_t, the immediate reward (short-sighted)
1         G_t = r_t + r_{t+1} + ... (all rewards until the episode ends)
2         G'_t = sum_{n>=t} gamma^(n-t) r_n (discounted)
3         G'_t - b, b = the batch's mean of G'_t, so A_t has both signs
3.5-mc    G'_t - V(s_t), the critic V fitted to G'_t (Monte-Carlo)
3.5-td    G'_t - V(s_t), the critic V fitted to r_t + gamma V(s_{t+1}) (TD)
4         r_t + gamma V(s_{t+1}) - V(s_t) (advantage actor-critic), generalised
          to GAE(lambda) (lambda=0 is the course's formula)
========  ==============================================================

Each estimator is ``(rollout, gamma, lam) -> (advantages, value_targets)`` and
is registered by name in :data:`ESTIMATORS` together with whether it needs a
critic. Adding a version is one function and one decorator.

Dimensions: T steps of the rollout, N parallel envs. All arrays are float
``(T, N)`` unless stated.

Episode ends and the rollout cut. Only the rollout collector knows the env's
auto-reset rules, so it fills :attr:`Rollout.next_values` with ``V(s_{t+1})``
for every step: 0 where the episode *terminated*, ``V(final observation)``
where it was *truncated* by a time limit, ``V(next observation)`` otherwise
(including the last step of the rollout, whose episode is still running; see
:func:`next_values_from`). The estimators then need no special cases: a return
is cut wherever the episode ended or the rollout ends and continued there by
``next_values``. Critic-free versions (0-3) are given ``values = next_values =
0``, so their returns of the episode still running at the rollout cut (and at a
time limit) miss the rewards after it: a truncation bias that shrinks as
``n_steps`` grows past the episode length (or the effective horizon
``1 / (1 - gamma)``). That is the course's REINFORCE without a critic; choose
``n_steps`` long for versions 1-3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Arrays = tuple[np.ndarray, np.ndarray]
EstimatorFn = Callable[["Rollout", float, float], Arrays]


@dataclass(frozen=True)
class Rollout:
    """A fixed-length chunk of experience from N envs, as the estimators see it.

    Attributes:
        rewards: ``r_t``, float ``(T, N)``.
        values: ``V(s_t)``, float ``(T, N)`` (zeros for critic-free versions).
        next_values: ``V(s_{t+1})`` after the auto-reset rules, float ``(T, N)``:
            0 on termination, V(final observation) on truncation.
        terminated: the episode ended in a terminal state at step t, bool ``(T, N)``.
        truncated: the episode was cut by a time limit at step t, bool ``(T, N)``.
    """

    rewards: np.ndarray
    values: np.ndarray
    next_values: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray

    def __post_init__(self) -> None:
        shape = np.shape(self.rewards)
        if len(shape) != 2:
            raise ValueError(f"rewards must have shape (T, N), got {shape}")
        for name in ("values", "next_values", "terminated", "truncated"):
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(f"{name} has shape {np.shape(getattr(self, name))}, rewards have {shape}")

    @property
    def ends(self) -> np.ndarray:
        """Where the return chain is cut: episode ends and the rollout's last step, bool ``(T, N)``."""
        ends = np.logical_or(self.terminated, self.truncated)
        ends[-1] = True
        return ends


def next_values_from(
    values: np.ndarray,
    last_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    final_values: np.ndarray,
) -> np.ndarray:
    """The auto-reset rules: ``V(s_{t+1})`` of every step, given the values the collector computed.

    With SB3's auto-resetting VecEnv the observation after a finished episode is
    the *next* episode's first one, so ``values[t + 1]`` is only ``V(s_{t+1})``
    when step t did not end an episode.

    Args:
        values: ``V(s_t)`` of the observations acted on, ``(T, N)``.
        last_values: ``V`` of the observation after the last step, ``(N,)``.
        terminated: bool ``(T, N)``; a terminal state is worth 0.
        truncated: bool ``(T, N)``; the episode would have gone on, so it is
            worth ``V(final observation)``. Termination wins when both are set.
        final_values: ``V(final observation)`` where ``truncated`` (any value elsewhere), ``(T, N)``.

    Returns:
        next_values ``(T, N)``.
    """
    next_values = np.concatenate([values[1:], last_values[None]], axis=0)
    next_values = np.where(truncated, final_values, next_values)
    return np.where(terminated, 0.0, next_values)


def discounted_returns(rollout: Rollout, gamma: float) -> np.ndarray:
    """``G'_t = r_t + gamma * G'_{t+1}``, continued by ``next_values`` where the chain is cut.

    Returns:
        float ``(T, N)``.
    """
    returns = np.zeros_like(rollout.rewards, dtype=np.float64)
    ends = rollout.ends
    following = np.zeros(rollout.rewards.shape[1])
    for t in reversed(range(len(returns))):
        following = np.where(ends[t], rollout.next_values[t], following)
        returns[t] = following = rollout.rewards[t] + gamma * following
    return returns


def td_targets(rollout: Rollout, gamma: float) -> np.ndarray:
    """One-step TD targets ``r_t + gamma V(s_{t+1})``, float ``(T, N)``."""
    return rollout.rewards + gamma * rollout.next_values


def gae(rollout: Rollout, gamma: float, lam: float) -> np.ndarray:
    """Generalised advantage estimation (Schulman et al. 2016, arXiv:1506.02438).

    ``A_t = delta_t + gamma * lam * A_{t+1}`` within an episode, with the TD error
    ``delta_t = r_t + gamma V(s_{t+1}) - V(s_t)``. ``lam = 0`` is the course's
    version 4; ``lam = 1`` telescopes to ``G'_t - V(s_t)``.

    Returns:
        float ``(T, N)``.
    """
    deltas = td_targets(rollout, gamma) - rollout.values
    advantages = np.zeros_like(deltas, dtype=np.float64)
    ends = rollout.ends
    following = np.zeros(deltas.shape[1])
    for t in reversed(range(len(deltas))):
        following = np.where(ends[t], 0.0, following)
        advantages[t] = following = deltas[t] + gamma * lam * following
    return advantages


@dataclass(frozen=True)
class Estimator:
    """A registered advantage estimator.

    Attributes:
        name: the course version, e.g. ``"3.5-td"``.
        fn: ``(rollout, gamma, lam) -> (advantages, value_targets)``, both ``(T, N)``.
        needs_critic: whether the algorithm must learn V (fit it to ``value_targets``);
            when False, ``value_targets`` are only logged.
        summary: one line for docs and ``--help``.
    """

    name: str
    fn: EstimatorFn
    needs_critic: bool
    summary: str

    def __call__(self, rollout: Rollout, gamma: float, lam: float) -> Arrays:
        return self.fn(rollout, gamma, lam)


ESTIMATORS: dict[str, Estimator] = {}


def estimator(name: str, needs_critic: bool, summary: str) -> Callable[[EstimatorFn], EstimatorFn]:
    """Decorator: register ``fn`` as the estimator of course version ``name``."""

    def register(fn: EstimatorFn) -> EstimatorFn:
        if name in ESTIMATORS:
            raise ValueError(f"estimator {name!r} is already registered")
        ESTIMATORS[name] = Estimator(name, fn, needs_critic, summary)
        return fn

    return register


@estimator("0", needs_critic=False, summary="A_t = r_t, the immediate reward")
def immediate_reward(rollout: Rollout, gamma: float, lam: float) -> Arrays:
    return rollout.rewards.astype(np.float64), discounted_returns(rollout, gamma)


@estimator("1", needs_critic=False, summary="A_t = G_t, the sum of the rewards until the episode ends")
def reward_to_go(rollout: Rollout, gamma: float, lam: float) -> Arrays:
    returns = discounted_returns(rollout, 1.0)
    return returns, returns


@estimator("2", needs_critic=False, summary="A_t = G'_t, the discounted sum of future rewards")
def discounted_reward_to_go(rollout: Rollout, gamma: float, lam: float) -> Arrays:
    returns = discounted_returns(rollout, gamma)
    return returns, returns


@estimator("3", needs_critic=False, summary="A_t = G'_t - b, b the batch's mean of G'_t")
def reward_to_go_minus_mean(rollout: Rollout, gamma: float, lam: float) -> Arrays:
    # The baseline is the mean discounted return over all T*N steps of the batch:
    # a constant, so the gradient stays unbiased, and A_t has both signs as the notes ask.
    returns = discounted_returns(rollout, gamma)
    return returns - returns.mean(), returns


@estimator("3.5-mc", needs_critic=True, summary="A_t = G'_t - V(s_t), V fitted to G'_t (Monte-Carlo)")
def critic_baseline_mc(rollout: Rollout, gamma: float, lam: float) -> Arrays:
    returns = discounted_returns(rollout, gamma)
    return returns - rollout.values, returns


@estimator("3.5-td", needs_critic=True, summary="A_t = G'_t - V(s_t), V fitted to r_t + gamma V(s_t+1) (TD)")
def critic_baseline_td(rollout: Rollout, gamma: float, lam: float) -> Arrays:
    returns = discounted_returns(rollout, gamma)
    return returns - rollout.values, td_targets(rollout, gamma)


@estimator("4", needs_critic=True, summary="A_t = r_t + gamma V(s_t+1) - V(s_t), as GAE(lambda) (A2C)")
def advantage_actor_critic(rollout: Rollout, gamma: float, lam: float) -> Arrays:
    # The critic's target is the TD(lambda) return A_t + V(s_t), as in SB3's A2C:
    # one-step TD at lam=0, the Monte-Carlo return at lam=1.
    advantages = gae(rollout, gamma, lam)
    return advantages, advantages + rollout.values
