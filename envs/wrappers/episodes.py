"""Episode-structure wrappers: they change where an episode starts or how it ends, not how a step is scored.

* :class:`PerturbedStart` begins every episode in a state a few random actions away from the
  env's own start distribution (robustness tests: does a policy recover from states its
  demonstrations rarely contain?).
* :class:`AbsorbAfterTermination` continues a terminated episode in an absorbing state and ends
  it as a truncation (adversarial imitation without the variable-horizon leak).
* :class:`EpisodeCap` ends an episode after a number of steps and marks the cut (evaluation and
  recording never hang on a policy that never ends an episode).

Where they go relative to SB3's ``Monitor`` decides what the logged returns mean:
``PerturbedStart`` goes inside it (``make_env(wrappers=[...])``), so the random steps are not
scored; ``AbsorbAfterTermination`` goes outside it (``make_env(reward_wrappers=[...])``), so
Monitor still sees the real episode end.

Shapes: O is the observation's shape.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from gymsuite.common.errors import UserError

_MAX_RESETS = 1000  # PerturbedStart gives up when this many starts in a row end during the random steps


class PerturbedStart(gym.Wrapper):
    """After each reset, play ``steps`` uniformly random actions before handing the env over.

    Put inside ``Monitor`` (``make_env(wrappers=[...])``), the random steps are not scored,
    but they count against the env's time limit. An episode that ends during them is reset
    again. The actions come from a private copy of the action space seeded by
    ``reset(seed=...)``, so the perturbed starts depend on the seed only, never on the
    policy: a seeded evaluation sees the same starts for every policy it compares. Without
    a seed they are as random as the action space's own generator.

    Args:
        env: the env to perturb.
        steps: random actions after each reset (K >= 1).

    Raises:
        UserError: ``steps < 1``, or every start ends within ``steps`` random actions.

    Example:
        >>> env = PerturbedStart(gym.make("CartPole-v1"), steps=10)
        >>> obs, info = env.reset(seed=0)
        >>> env.env._elapsed_steps  # the TimeLimit inside counted the random steps
        10
    """

    def __init__(self, env: gym.Env, steps: int) -> None:
        if steps < 1:
            raise UserError(f"PerturbedStart needs at least one random step, got {steps}",
                            "use no wrapper for the env's own starts")
        super().__init__(env)
        self.steps = int(steps)
        self._actions = copy.deepcopy(env.action_space)  # sampling never moves the env's action-space RNG

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        if seed is not None:
            self._actions.seed(seed)
        for _ in range(_MAX_RESETS):
            for _ in range(self.steps):
                obs, _, terminated, truncated, info = self.env.step(self._actions.sample())
                if terminated or truncated:
                    break
            else:
                return obs, info
            obs, info = self.env.reset(options=options)
        raise UserError(f"{_MAX_RESETS} starts in a row ended within {self.steps} random steps",
                        "use fewer perturbation steps for this env")


class AbsorbAfterTermination(gym.Wrapper):
    """After termination, ``steps`` steps in an absorbing state, then a time-limit truncation.

    Why: imitation's GAIL/AIRL refuse episodes of different lengths by default, for good
    reason: when the policy decides when an episode ends, the end itself carries reward
    information. GAIL's reward ``-log(1 - D)`` is always positive, so with plain variable
    horizons every agent is paid just for staying alive (CartPole's whole task, whatever
    the discriminator learned) and is kept from finishing (an Acrobot swing-up or a
    LunarLander landing ends the episode). Padding every episode to the time limit fixes
    that but makes a CartPole learner that falls after 20 steps spend 480 more in the
    padding (about 20 times the env steps).

    Here a terminated episode goes on in an absorbing state: the final observation
    repeated, actions ignored, env reward 0, for ``steps`` steps, and then ends as a
    *truncation*, so PPO bootstraps ``V(absorbing)`` and the absorbing state lasts forever
    as far as returns are concerned: the episode's end carries no information any more.
    The discriminator learns the absorbing state's reward from data (expert demos are
    padded the same way by :func:`gymsuite.agents.data.demos.pad_absorbing`): low when the expert never
    terminates (CartPole), high when terminating is the expert's goal (Acrobot).
    Kostrikov et al. 2019, "Discriminator-Actor-Critic", section 4.2 (absorbing states).

    Put it outside ``Monitor``: Monitor still sees the real episode end, so logged returns
    and lengths stay the env's own. ``info["absorbing"]`` is True during the padding.

    Args:
        env: the environment.
        steps: absorbing steps after a termination (PPO's critic learns their value
            faster with more; 32 with gamma 0.98 covers half of the discounted weight).
    """

    def __init__(self, env: gym.Env, steps: int) -> None:
        super().__init__(env)
        if steps < 1:
            raise UserError(f"absorbing steps must be a positive number, got {steps}")
        self.steps = int(steps)
        self._left = 0
        self._absorbing: Any = None  # (*O,) the final observation while absorbing, else None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        self._absorbing = None
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        if self._absorbing is not None:
            self._left -= 1
            return self._absorbing, 0.0, False, self._left <= 0, {"absorbing": True}
        obs, reward, terminated, truncated, info = self.env.step(action)
        if terminated:
            self._absorbing, self._left = np.array(obs, copy=True), self.steps
            return obs, reward, False, False, info
        return obs, reward, terminated, truncated, info


class EpisodeCap(gym.Wrapper):
    """End an episode as a truncation after ``steps`` steps, saying so in ``info["episode_capped"]``.

    Why: a greedy policy can loop forever (gymnasium-2048 repeating an illegal move), and an
    evaluation or a recording without a cap then never returns. Unlike ``TimeLimit`` it marks
    the cut, so the caller can warn that the episode's return is not a whole episode's.
    ``info["episode_capped"]`` holds the cap on the step that cut the episode and is absent
    otherwise (an episode the env ends itself at that very step is not marked).

    Args:
        env: the environment.
        steps: the most steps an episode may take.
    """

    def __init__(self, env: gym.Env, steps: int) -> None:
        if steps < 1:
            raise UserError(f"an episode cap must be at least one step, got {steps}")
        super().__init__(env)
        self.steps = int(steps)
        self._elapsed = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        self._elapsed = 0
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._elapsed += 1
        if self._elapsed >= self.steps and not (terminated or truncated):
            truncated, info = True, {**info, "episode_capped": self.steps}
        return obs, reward, terminated, truncated, info


DEFAULT_EPISODE_CAP = 10_000  # steps of an evaluated, recorded or demonstrated episode when the env sets no limit


def episode_cap(steps: int | None) -> Callable[[gym.Env], gym.Env]:
    """A wrapper capping episodes at ``steps``; without ``steps``, at the env's own time limit, else
    :data:`DEFAULT_EPISODE_CAP`, so that a policy that never ends an episode cannot hang the caller."""
    def wrap(env: gym.Env) -> gym.Env:
        if steps is None and has_time_limit(env):
            return env
        return EpisodeCap(env, steps or DEFAULT_EPISODE_CAP)

    return wrap


def has_time_limit(env: gym.Env) -> bool:
    """True when a ``TimeLimit`` (``gym.make``'s, from the id's ``max_episode_steps``) sits in ``env``'s wrappers."""
    while isinstance(env, gym.Wrapper):
        if isinstance(env, gym.wrappers.TimeLimit | EpisodeCap):
            return True
        env = env.env
    return False
