"""Bernoulli bandits (``gymsuite/TwoArmedBandit-v0``) and the classic strategies RL² is measured against.

After Duan et al. (2016), "RL²: Fast Reinforcement Learning via Slow Reinforcement Learning", section 4.1: a task
is a bandit whose arm ``i`` pays 1 with probability ``p_i`` (else 0); an episode is ``pulls`` pulls (they used
n = 10, 100, 500); the probabilities are drawn uniformly from [0, 1] per task. An agent that knows nothing of the
task must explore and exploit within the episode, which is what a meta-learner is to learn.

* Observation: ``(1,)`` float32, always 0: the agent learns only from what it did and got (RL² appends the
  previous action, reward and done flag: :class:`gymsuite.envs.wrappers.trials.Trials`).
* Actions: ``Discrete(arms)``, the arm to pull.
* Reward: 1 with probability ``p[action]``, else 0, drawn from the env's ``np_random``. The episode terminates
  after ``pulls`` pulls. ``info["p"]`` is the pulled arm's probability, ``info["best"]`` the best arm's.
* Parameters (:mod:`gymsuite.envs.params`): ``p0``, ``p1``, ... each in [0, 1], so a task family samples them
  (``--family "gymsuite/TwoArmedBandit-v0 p0=0:1 p1=0:1"``); ``pulls`` is a constructor keyword
  (``gymsuite/TwoArmedBandit-v0 pulls=10``).

The references play a ``(B, arms)`` batch of tasks at once for ``pulls`` pulls and return each task's total reward
``(B,)`` (B: bandit tasks; one trial each; ``probs`` rows are the tasks' arm probabilities):

* :func:`ucb1`: Auer et al. (2002): each arm once, then the arm maximising ``mean_i + sqrt(2 ln t / n_i)``.
* :func:`thompson`: Thompson sampling with a uniform Beta(1, 1) prior per arm: pull the arm whose posterior
  ``Beta(1 + wins, 1 + losses)`` draw is largest (the Bayesian strategy for this prior; Duan et al.'s Thompson row).
* :func:`random_arms`: a uniformly random arm every pull (the floor).
* :func:`bayes_optimal`: two arms only: the policy that maximises the expected total reward over ``pulls`` pulls when
  the probabilities are drawn uniformly (the family's prior), by dynamic programming over the posterior counts
  (:func:`bayes_policy`). Averaged over that prior no strategy does better; it is the finite-horizon optimum the
  Gittins index approximates (the index is optimal for the discounted infinite horizon).
* :func:`oracle`: the best arm every pull (the ceiling: ``pulls * max_i p_i`` in expectation, out of reach of any
  strategy that must learn which arm it is).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from gymsuite.common.errors import UserError

DUAN_PULLS = (10, 100, 500)  # the episode lengths of Duan et al.'s bandit table


def check_probs(probs: Sequence[float]) -> np.ndarray:
    """``probs`` as a float64 ``(arms,)`` array, or a :class:`UserError` naming the first outside [0, 1]."""
    values = np.asarray(probs, dtype=np.float64).ravel()
    if values.size < 2:
        raise UserError(f"a bandit needs at least 2 arms, got probabilities {list(values)}", "e.g. probs=[0.3, 0.7]")
    for i, p in enumerate(values):
        if not 0.0 <= p <= 1.0:
            raise UserError(f"arm {i}'s probability p{i}={p:g} is outside [0, 1]",
                            "a Bernoulli arm pays 1 with a probability in [0, 1], e.g. p0=0.3 or p0=0:1")
    return values


class BernoulliBandit(gym.Env):
    """A bandit of Bernoulli arms; one episode is ``pulls`` pulls.

    Args:
        probs: each arm's probability of paying 1 (``(arms,)``, each in [0, 1]; default two arms at 0.5).
        pulls: pulls per episode (an int, at least 1).
        render_mode: unused (only ``None``).
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, probs: Sequence[float] = (0.5, 0.5), pulls: int = 100, render_mode: str | None = None) -> None:
        if isinstance(pulls, bool) or not isinstance(pulls, int | np.integer) or pulls < 1:
            raise UserError(f"a bandit episode's pulls must be an integer of at least 1, got {pulls!r}",
                            "e.g. pulls=100 (Duan et al. used 10, 100 and 500)")
        self.probs = check_probs(probs)
        self.pulls = int(pulls)
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(len(self.probs))
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        arm = int(action)
        p = float(self.probs[arm])
        reward = float(self.np_random.random() < p)
        self.t += 1
        info = {"p": p, "best": float(self.probs.max())}
        return np.zeros(1, dtype=np.float32), reward, self.t >= self.pulls, False, info


def two_armed(pulls: int = 100, p0: float = 0.5, p1: float = 0.5, render_mode: str | None = None) -> BernoulliBandit:
    """``gymsuite/TwoArmedBandit-v0``: a two-armed :class:`BernoulliBandit` of ``pulls`` pulls."""
    return BernoulliBandit((p0, p1), pulls, render_mode)


# ---- references: (B, arms) tasks played for `pulls` pulls, each task's total reward (B,) ----

Strategy = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]


def _play(probs: np.ndarray, pulls: int, rng: np.random.Generator,
          choose: Callable[[np.ndarray, np.ndarray, int], np.ndarray]) -> np.ndarray:
    """Pull ``choose(wins (B, arms), counts (B, arms), t) -> (B,)`` arms for ``pulls`` steps; total reward (B,)."""
    probs = np.atleast_2d(np.asarray(probs, dtype=np.float64))
    rows = np.arange(len(probs))
    wins, counts = np.zeros_like(probs), np.zeros_like(probs)
    total = np.zeros(len(probs))
    for t in range(pulls):
        arm = choose(wins, counts, t)
        reward = (rng.random(len(probs)) < probs[rows, arm]).astype(np.float64)
        wins[rows, arm] += reward
        counts[rows, arm] += 1
        total += reward
    return total


def ucb1(probs: np.ndarray, pulls: int, rng: np.random.Generator) -> np.ndarray:
    """UCB1 (Auer et al. 2002) on ``(B, arms)`` tasks: total reward ``(B,)`` (ties go to the lowest arm)."""
    def choose(wins: np.ndarray, counts: np.ndarray, t: int) -> np.ndarray:
        if t < wins.shape[1]:
            return np.full(len(wins), t)
        bonus = np.sqrt(2.0 * np.log(t) / counts)
        return np.argmax(wins / counts + bonus, axis=1)

    return _play(probs, pulls, rng, choose)


def thompson(probs: np.ndarray, pulls: int, rng: np.random.Generator) -> np.ndarray:
    """Thompson sampling with Beta(1, 1) priors on ``(B, arms)`` tasks: total reward ``(B,)``."""
    def choose(wins: np.ndarray, counts: np.ndarray, t: int) -> np.ndarray:
        return np.argmax(rng.beta(1.0 + wins, 1.0 + counts - wins), axis=1)

    return _play(probs, pulls, rng, choose)


def random_arms(probs: np.ndarray, pulls: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random arm every pull on ``(B, arms)`` tasks: total reward ``(B,)``."""
    return _play(probs, pulls, rng, lambda wins, counts, t: rng.integers(wins.shape[1], size=len(wins)))


def oracle(probs: np.ndarray, pulls: int, rng: np.random.Generator) -> np.ndarray:
    """The best arm every pull on ``(B, arms)`` tasks: total reward ``(B,)``."""
    return _play(probs, pulls, rng, lambda wins, counts, t: np.argmax(np.atleast_2d(probs), axis=1))


BAYES_MAX_PULLS = 200  # the policy table holds sum_t (t + 1)^3 entries: 0.4 GB at 200 pulls


@lru_cache(maxsize=4)
def bayes_policy(pulls: int) -> tuple[tuple[np.ndarray, ...], float]:
    """The Bayes-optimal policy of a two-armed Bernoulli bandit with uniform priors over ``pulls`` pulls, and its
    expected total reward.

    After t pulls the posterior is set by ``(n0, s0, s1)``: arm 0's pulls and successes, arm 1's successes (arm 1's
    pulls are ``t - n0``); arm i's next pull pays with probability ``(s_i + 1) / (n_i + 2)`` (Beta(1 + s, 1 + f)).
    Backward induction: ``V_t = max_i [q_i (1 + V_{t+1}(success)) + (1 - q_i) V_{t+1}(failure)]``, ``V_pulls = 0``.

    Returns:
        ``policy[t]``: ``(t + 1, t + 1, t + 1)`` bool, True where arm 1 is the better pull (entries with
        ``s0 > n0`` or ``s1 > t - n0`` are unused), and ``V_0``.
    """
    if pulls > BAYES_MAX_PULLS:
        raise UserError(f"the Bayes-optimal bandit policy is tabulated up to {BAYES_MAX_PULLS} pulls, not {pulls}",
                        "use ucb1 or thompson for longer episodes")
    policy: list[np.ndarray] = [np.zeros((1, 1, 1), bool)] * pulls
    nxt = np.zeros((pulls + 1,) * 3)  # V_pulls
    for t in range(pulls - 1, -1, -1):
        n0 = np.arange(t + 1)[:, None, None]
        s0 = np.arange(t + 1)[None, :, None]
        s1 = np.arange(t + 1)[None, None, :]
        q0, q1 = (s0 + 1) / (n0 + 2), (s1 + 1) / (t - n0 + 2)
        # nxt is V_{t+1}[n0', s0', s1'], shape (t + 2,) * 3
        pull0 = q0 * (1 + nxt[1:t + 2, 1:t + 2, :t + 1]) + (1 - q0) * nxt[1:t + 2, :t + 1, :t + 1]
        pull1 = q1 * (1 + nxt[:t + 1, :t + 1, 1:t + 2]) + (1 - q1) * nxt[:t + 1, :t + 1, :t + 1]
        policy[t] = pull1 > pull0
        nxt = np.maximum(pull0, pull1)
    return tuple(policy), float(nxt[0, 0, 0])


def bayes_optimal(probs: np.ndarray, pulls: int, rng: np.random.Generator) -> np.ndarray:
    """The Bayes-optimal policy for uniform priors (:func:`bayes_policy`) on ``(B, 2)`` tasks: total reward ``(B,)``."""
    policy, _ = bayes_policy(pulls)

    def choose(wins: np.ndarray, counts: np.ndarray, t: int) -> np.ndarray:
        n0, s0, s1 = counts[:, 0].astype(int), wins[:, 0].astype(int), wins[:, 1].astype(int)
        return policy[t][n0, s0, s1].astype(int)

    return _play(probs, pulls, rng, choose)


REFERENCES: dict[str, Strategy] = {"ucb1": ucb1, "thompson": thompson, "bayes": bayes_optimal,
                                   "random": random_arms, "oracle": oracle}


def reference_returns(name: str, probs: np.ndarray, pulls: int, trials: int, seed: int) -> np.ndarray:
    """Strategy ``name`` played ``trials`` times on each of the ``(B, arms)`` tasks: total rewards ``(B, trials)``."""
    if name not in REFERENCES:
        raise UserError(f"unknown bandit strategy {name!r}", f"choose from {', '.join(REFERENCES)}")
    rng = np.random.default_rng(seed)
    tasks = np.atleast_2d(np.asarray(probs, dtype=np.float64))
    batch = np.repeat(tasks, trials, axis=0)  # (B * trials, arms): task b's trials are rows b*trials ...
    return REFERENCES[name](batch, pulls, rng).reshape(len(tasks), trials)


__all__ = ["BAYES_MAX_PULLS", "DUAN_PULLS", "REFERENCES", "BernoulliBandit", "bayes_optimal", "bayes_policy",
           "check_probs", "oracle", "random_arms",
           "reference_returns", "thompson", "two_armed", "ucb1"]
