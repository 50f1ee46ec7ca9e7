"""Env wrappers by what they change: guards (VecFiniteGuard), episodes (PerturbedStart, AbsorbAfterTermination,
EpisodeCap)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

from gymsuite.common.errors import UserError
from gymsuite.envs.factory import make_env
from gymsuite.envs.wrappers import AbsorbAfterTermination, EpisodeCap, PerturbedStart, VecFiniteGuard, has_time_limit
from tests.toy_envs import Counter

# --------------------------------------------------------------------------- guards


def cartpoles(*wraps: Callable[[gym.Env], gym.Env]) -> DummyVecEnv:
    """One CartPole per entry of ``wraps``, each wrapped by it (``lambda e: e`` for none)."""
    return DummyVecEnv([functools.partial(lambda w: w(gym.make("CartPole-v1")), w) for w in wraps])


def test_finite_guard_passes_a_finite_env_through_unchanged() -> None:
    plain, guarded = cartpoles(lambda e: e, lambda e: e), VecFiniteGuard(cartpoles(lambda e: e, lambda e: e), "x")
    plain.seed(0)
    guarded.seed(0)
    assert np.array_equal(plain.reset(), guarded.reset())
    for _ in range(30):  # past the first episode ends: the auto-resets too
        actions = np.array([0, 1])
        for a, b in zip(plain.step(actions)[:3], guarded.step(actions)[:3], strict=True):  # obs, rewards, dones
            assert np.array_equal(a, b)


def test_finite_guard_names_the_env_that_returned_a_non_finite_reward() -> None:
    inf_reward = functools.partial(gym.wrappers.TransformReward, func=lambda r: np.inf)
    venv = VecFiniteGuard(cartpoles(lambda e: e, inf_reward), "CartPole-v1")
    venv.reset()
    with pytest.raises(UserError, match=r"CartPole-v1 returned a non-finite reward \(inf\) from step\(\) in env 1"):
        venv.step(np.array([0, 0]))


@pytest.mark.parametrize("where", ["reset()", "step()"])
def test_finite_guard_stops_at_a_nan_observation(where: str) -> None:
    def nan_obs(env: gym.Env) -> gym.Env:
        poisoned = {"calls": 0}

        def poison(obs: np.ndarray) -> np.ndarray:
            poisoned["calls"] += 1
            return obs * np.nan if where == "reset()" or poisoned["calls"] > 1 else obs

        return gym.wrappers.TransformObservation(env, poison, env.observation_space)

    venv = VecFiniteGuard(cartpoles(nan_obs), "CartPole-v1")
    with pytest.raises(UserError, match=rf"non-finite observation from {re.escape(where)} in env 0"):
        venv.reset()
        venv.step(np.array([0]))


# --------------------------------------------------------------------------- episodes: PerturbedStart


def test_perturbed_start_counts_against_the_time_limit_and_ignores_the_policy() -> None:
    env = PerturbedStart(gym.make("CartPole-v1"), steps=10)
    env.reset(seed=0)
    assert env.env._elapsed_steps == 10  # the TimeLimit inside saw the random steps

    def second_start(action: int) -> np.ndarray:
        venv = make_env("CartPole-v1", n_envs=1, seed=3, wrappers=[functools.partial(PerturbedStart, steps=10)])
        first = venv.reset()
        while not venv.step(np.array([action]))[2][0]:  # one episode of a constant policy, then the auto-reset
            pass
        return np.concatenate([first, venv.reset()])

    starts = second_start(0)
    assert np.array_equal(starts, second_start(1))  # the same starts whatever the policy did
    assert not np.allclose(starts[0], make_env("CartPole-v1", n_envs=1, seed=3).reset()[0])


def test_perturbed_start_is_reproducible_under_a_seed_and_moves_the_start() -> None:
    def start(seed: int, steps: int | None) -> np.ndarray:
        env = gym.make("CartPole-v1")
        return (PerturbedStart(env, steps) if steps else env).reset(seed=seed)[0]

    assert np.array_equal(start(7, 10), start(7, 10))
    assert not np.allclose(start(7, 10), start(8, 10))
    # the same env start, pushed by the random actions: CartPole's start is within 0.05 of 0 in each coordinate
    assert np.abs(start(7, None)).max() <= 0.05 < np.abs(start(7, 10)).max()


def test_perturbed_start_leaves_the_env_action_space_rng_alone() -> None:
    env = gym.make("CartPole-v1")
    env.action_space.seed(11)
    PerturbedStart(env, steps=10).reset(seed=0)
    fresh = gym.spaces.Discrete(2, seed=11)
    assert [env.action_space.sample() for _ in range(20)] == [fresh.sample() for _ in range(20)]


class CountResets(gym.Wrapper):
    """Counts the resets that reach the env."""

    resets = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        self.resets += 1
        return self.env.reset(seed=seed, options=options)


def test_perturbed_start_resets_again_when_the_random_steps_end_the_episode() -> None:
    counted = CountResets(gym.make("CartPole-v1"))  # random CartPole episodes last about 22 steps
    env = PerturbedStart(counted, steps=40)
    for seed in range(5):
        env.reset(seed=seed)
        assert env.unwrapped.steps_beyond_terminated is None  # a live start, not a fallen pole
        assert counted.env._elapsed_steps == 40  # the start that survived counts exactly K steps
    assert counted.resets > 5  # some of the 40-step perturbations ended the episode and started again


def test_perturbed_start_rejects_no_steps_and_starts_that_never_survive() -> None:
    with pytest.raises(UserError, match="at least one random step"):
        PerturbedStart(gym.make("CartPole-v1"), steps=0)
    env = PerturbedStart(gym.make("CartPole-v1", max_episode_steps=5), steps=10)  # truncated within the steps
    with pytest.raises(UserError, match="1000 starts in a row ended within 10 random steps"):
        env.reset(seed=0)


# --------------------------------------------------------------------------- episodes: AbsorbAfterTermination


def test_absorbing_wrapper_pads_termination_then_truncates() -> None:
    env = AbsorbAfterTermination(Monitor(gym.make("CartPole-v1")), steps=3)
    env.reset(seed=0)
    t, terminated, truncated, info = 0, False, False, {}
    while not info.get("episode"):
        obs, _, terminated, truncated, info = env.step(0)
        t += 1
    length, final = info["episode"]["l"], obs
    assert length == t and not terminated and not truncated  # Monitor saw the real end; the episode goes on
    for k in range(3):
        obs, reward, terminated, truncated, info = env.step(1)
        assert info["absorbing"] and reward == 0.0 and (obs == final).all() and not terminated
        assert truncated == (k == 2)
    obs, _ = env.reset(seed=1)  # a reset leaves the absorbing state
    _, _, _, _, info = env.step(0)
    assert "absorbing" not in info


def test_absorbing_wrapper_passes_truncations_through() -> None:
    env = AbsorbAfterTermination(gym.make("CartPole-v1", max_episode_steps=4), steps=3)
    env.reset(seed=0)
    steps = [env.step(t % 2)[2:] for t in range(4)]  # alternate pushes: the pole stays up for 4 steps
    assert steps[-1][:2] == (False, True) and not any("absorbing" in info for *_, info in steps)
    with pytest.raises(UserError, match="positive"):
        AbsorbAfterTermination(gym.make("CartPole-v1"), steps=0)


def test_episode_cap_truncates_and_marks_only_its_own_cut() -> None:
    env = EpisodeCap(Counter(), 3)
    env.reset(seed=0)
    steps = [env.step(1) for _ in range(3)]
    assert [(s[2], s[3]) for s in steps] == [(False, False), (False, False), (False, True)]
    assert steps[2][4] == {"episode_capped": 3} and "episode_capped" not in steps[1][4]
    env.reset()
    assert not env.step(1)[3]  # the count starts again
    ends_itself = EpisodeCap(Counter(terminate_at=3), 3)
    ends_itself.reset()
    *_, terminated, truncated, info = [ends_itself.step(1) for _ in range(3)][-1]
    assert terminated and not truncated and "episode_capped" not in info
    with pytest.raises(UserError):
        EpisodeCap(Counter(), 0)


def test_has_time_limit_finds_the_ids_limit() -> None:
    assert has_time_limit(gym.make("CartPole-v1")) and has_time_limit(EpisodeCap(Counter(), 5))
    assert not has_time_limit(Counter()) and not has_time_limit(Monitor(Counter()))


def test_vec_wrappers_keep_the_env_metadata() -> None:
    from gymsuite.rewards.curiosity import attach

    venv = make_env("CartPole-v1", render_mode="rgb_array")
    assert isinstance(venv, VecFiniteGuard) and venv.metadata["render_fps"] == 50  # SB3's VecEnvWrapper drops it
    bonus, _ = attach(venv, "rnd", seed=0)
    assert bonus.metadata["render_fps"] == 50
