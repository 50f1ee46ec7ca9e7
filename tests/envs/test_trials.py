"""RL²'s trials: K episodes of one task as one episode, the history appended, a task drawn per trial."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import gymsuite  # noqa: F401  (registers gymsuite/Trials-v0)
from gymsuite.common.errors import UserError
from gymsuite.envs.taskenv import FamilyEnv, trial_env
from gymsuite.envs.wrappers.trials import Trials

BANDITS = "gymsuite/TwoArmedBandit-v0 p0=0:1 p1=0:1 pulls=3"


def test_the_observation_appends_previous_action_reward_and_done() -> None:
    env = Trials(gym.make("gymsuite/TwoArmedBandit-v0", p0=1.0, p1=0.0, pulls=2), episodes=2)
    obs, info = env.reset(seed=0)
    assert env.observation_space.shape == (1 + 2 + 2,)
    assert obs.tolist() == [0, 0, 0, 0, 0] and info["trial_episode"] == 0  # nothing happened yet
    steps = [env.step(a) for a in (0, 1, 0, 0)]
    # [obs, one-hot previous arm, its reward (arm 0 always pays, arm 1 never), done: the episode before ended]
    assert [s[0].tolist() for s in steps] == [[0, 1, 0, 1, 0], [0, 0, 1, 0, 1], [0, 1, 0, 1, 0], [0, 1, 0, 1, 1]]
    assert [(s[2], s[3]) for s in steps] == [(False, False)] * 3 + [(True, False)]  # one episode: the trial
    assert [s[4]["trial_episode"] for s in steps] == [0, 0, 1, 1]
    assert steps[-1][4]["trial_returns"] == [1.0, 2.0]


def test_a_box_action_is_appended_as_its_vector() -> None:
    env = Trials(gym.make("Pendulum-v1"), episodes=1)
    env.reset(seed=0)
    obs, reward, *_ = env.step(np.array([1.5], dtype=np.float32))
    assert obs.shape == (3 + 1 + 2,) and obs[3] == 1.5 and obs[4] == pytest.approx(reward) and obs[5] == 0


def _tasks_of_trials(env: gym.Env, trials: int) -> list[set[str]]:
    seen = []
    for _ in range(trials):
        _, info = env.reset()
        tasks, done = {info["task"]}, False
        while not done:
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            tasks.add(info["task"])
            done = terminated or truncated
        seen.append(tasks)
    return seen


def test_a_trial_keeps_its_task_across_episodes_and_the_next_draws_another_seeded() -> None:
    runs = []
    for _ in range(2):
        env = gym.make("gymsuite/Trials-v0", family=BANDITS, episodes=3)
        env.reset(seed=5)
        env.action_space.seed(0)
        runs.append(_tasks_of_trials(env, 4))
    assert all(len(tasks) == 1 for tasks in runs[0])  # one task for the trial's 3 episodes
    assert len(set().union(*runs[0])) == 4  # a new one each trial
    assert runs[0] == runs[1]  # the same seed, the same tasks
    env = gym.make("gymsuite/Trials-v0", family=BANDITS, episodes=3)
    env.reset(seed=6)
    assert _tasks_of_trials(env, 4) != runs[0]


def test_cartpole_trials_span_two_episodes_and_set_the_drawn_length() -> None:
    env = trial_env("CartPole-v1 length=0.5x:2x", episodes=2)
    _, info = env.reset(seed=0)
    length = float(info["task"].split("length=")[1].rstrip("x")) * 0.5
    assert env.unwrapped.env.unwrapped.length == pytest.approx(length)
    total, done, steps = 0.0, False, []
    while not done:
        obs, reward, terminated, truncated, info = env.step(0)
        total += reward
        steps.append(obs[-1])
        done = terminated or truncated
    assert sum(steps) == 2 and info["trial_returns"][0] + info["trial_returns"][1] == total  # two episodes


def test_what_cannot_take_trials_is_refused() -> None:
    with pytest.raises(UserError, match="vector observation"):
        Trials(gym.make("gymsuite/PixelCartPole-v0"), episodes=2)
    with pytest.raises(UserError, match="at least 1"):
        Trials(gym.make("CartPole-v1"), episodes=0)
    with pytest.raises(UserError, match=r"p0=1.5 breaks the env: p0 must be in \[0, 1\]"):
        FamilyEnv("gymsuite/TwoArmedBandit-v0 p0=0:1.5 p1=0:1")


def test_the_trial_generator_is_kept_for_a_resume() -> None:
    a, b = (trial_env(BANDITS, episodes=1) for _ in range(2))
    a.reset(seed=3)
    saved = a.get_resume_state()
    b.reset(seed=99)
    b.set_resume_state(saved)
    assert [a.reset()[1]["task"] for _ in range(3)] == [b.reset()[1]["task"] for _ in range(3)]
