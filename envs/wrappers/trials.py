"""RL²'s trials: K episodes of one task as one episode, the previous action, reward and done flag in the observation.

Duan et al. (2016), "RL²: Fast Reinforcement Learning via Slow Reinforcement Learning", and Wang et al. (2016),
"Learning to reinforcement learn": a recurrent policy whose hidden state is kept across the K episodes of one task
(a *trial*) can learn, by ordinary RL on many trials, to explore in the first episodes and exploit in the later
ones: its hidden state is the fast learner. Two things make that possible, and this wrapper provides both:

* one trial is one episode to the learner, so the policy's state is zeroed only where a trial starts (SB3's
  ``episode_start``), never between the trial's episodes; a new task is drawn per trial (``draw``), none within;
* the policy sees what happened: observation ``(O + A + 2,)`` float32 ``[obs, previous action, previous reward,
  previous done]`` with the action one-hot (``Discrete(A)``) or as its vector (``Box``, A entries), zeros at the
  trial's first step; ``done`` is 1 at the first step of each later episode (the one before ended there).

An inner episode ending inside the trial resets the inner env and goes on (neither ``terminated`` nor ``truncated``
outside); the last one ends the trial with its own flags. ``info["trial_episode"]`` is the index of the episode
within the trial, and the trial's last step has ``info["trial_returns"]``: each of its K episodes' returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from gymsuite.common.errors import UserError

Draw = Callable[[np.random.Generator], object]  # what it returns is ignored


def history_width(action_space: gym.Space) -> int:
    """Entries the previous action takes in the observation: ``n`` (one-hot) or the Box's size.

    Raises:
        UserError: an action space that is neither ``Discrete`` nor ``Box``.
    """
    if isinstance(action_space, spaces.Discrete):
        return int(action_space.n)
    if isinstance(action_space, spaces.Box):
        return int(np.prod(action_space.shape))
    raise UserError(f"RL² appends the previous action to the observation, but the action space is {action_space}",
                    "use an env with a Discrete or Box action space")


def check_trial_spaces(observation_space: gym.Space, action_space: gym.Space, what: str) -> None:
    """Refuse an observation that cannot take the history appended (not a vector ``Box``) or such an action.

    Raises:
        UserError: naming ``what`` (the env or task), its space, and the methods that take it.
    """
    if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 1:
        raise UserError(f"RL² appends the previous action, reward and done flag to a vector observation, but {what} "
                        f"observes {observation_space}",
                        "use a family whose observation is a 1-D Box (CartPole, bandits, ...); reptile, fomaml, "
                        "multitask and scratch take other observations")
    history_width(action_space)


class Trials(gym.Wrapper):
    """K episodes of ``env`` as one episode (a trial), a task drawn per trial, the history in the observation.

    Args:
        env: the task's env (a vector ``Box`` observation; ``Discrete`` or ``Box`` actions).
        episodes: K, the episodes per trial (at least 1).
        draw: called with this wrapper's generator before each trial to pick the trial's task (e.g.
            :meth:`gymsuite.envs.taskenv.FamilyEnv.draw`); None keeps the env's one task.
    """

    def __init__(self, env: gym.Env, episodes: int = 2, draw: Draw | None = None) -> None:
        if isinstance(episodes, bool) or not isinstance(episodes, int | np.integer) or episodes < 1:
            raise UserError(f"a trial's episodes must be an integer of at least 1, got {episodes!r}",
                            "e.g. --trials 2 (RL²'s K episodes of one task)")
        super().__init__(env)
        check_trial_spaces(env.observation_space, env.action_space, "the env")
        self.episodes, self.draw = int(episodes), draw
        inner, act = env.observation_space, env.action_space
        assert isinstance(inner, spaces.Box)
        self.width = history_width(act)
        if isinstance(act, spaces.Box):
            act_low, act_high = act.low.ravel().astype(np.float32), act.high.ravel().astype(np.float32)
        else:
            act_low, act_high = np.zeros(self.width, np.float32), np.ones(self.width, np.float32)
        low = np.concatenate([inner.low.astype(np.float32), act_low, [-np.inf, 0.0]]).astype(np.float32)
        high = np.concatenate([inner.high.astype(np.float32), act_high, [np.inf, 1.0]]).astype(np.float32)
        self.observation_space = spaces.Box(low, high, dtype=np.float32)
        self.rng = np.random.default_rng()
        self.episode = 0
        self.returns: list[float] = []

    def get_resume_state(self) -> dict[str, Any]:
        """What a checkpoint keeps of this wrapper (plain JSON): the generator that draws the trials' tasks and seeds,
        so a resumed run goes on with the trials it would have had (:mod:`gymsuite.agents.files.resumestate`)."""
        return {"rng": self.rng.bit_generator.state}

    def set_resume_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`get_resume_state`'s ``state``."""
        self.rng.bit_generator.state = state["rng"]

    def _observe(self, obs: Any, action: Any, reward: float, done: bool) -> np.ndarray:
        """``[obs, previous action, reward, done]`` as ``(O + A + 2,)`` float32 (``action`` None: zeros)."""
        prev = np.zeros(self.width, np.float32)
        if action is not None:
            if isinstance(self.action_space, spaces.Discrete):
                prev[int(action)] = 1.0
            else:
                prev[:] = np.asarray(action, np.float32).ravel()
        return np.concatenate([np.asarray(obs, np.float32).ravel(), prev, [reward, float(done)]]).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a trial: draw its task, reset the env with a seed from this wrapper's generator (``seed`` reseeds
        it), so that the generator alone decides every trial's task and episodes."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        if self.draw is not None:
            self.draw(self.rng)
        self.episode, self.returns = 0, [0.0]
        obs, info = self.env.reset(seed=int(self.rng.integers(2**31)), options=options)
        return self._observe(obs, None, 0.0, False), {**info, "trial_episode": 0}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.returns[-1] += float(reward)
        info = {**info, "trial_episode": self.episode}
        if not (terminated or truncated):
            return self._observe(obs, action, float(reward), False), float(reward), False, False, info
        if self.episode + 1 >= self.episodes:  # the trial's last episode ended: so does the trial
            info["trial_returns"] = list(self.returns)
            return self._observe(obs, action, float(reward), True), float(reward), terminated, truncated, info
        self.episode += 1
        self.returns.append(0.0)
        obs, _ = self.env.reset(seed=int(self.rng.integers(2**31)))
        return self._observe(obs, action, float(reward), True), float(reward), False, False, info


__all__ = ["Trials", "check_trial_spaces", "history_width"]
