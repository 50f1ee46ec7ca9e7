"""Atari through ale-py, with the standard preprocessing chosen for the user (Mnih et al. 2015; Machado et al. 2018).

An Atari id (``ALE/Pong-v5``, ``PongNoFrameskip-v4``) becomes, around each env::

    [EpisodicLife](Monitor(FrameStack(AtariPreprocessing(FireOnReset(ale env with frameskip 1)))))

no-op starts, frame skip 4 max-pooled over the last two frames, 84x84 grey, a stack of 4
frames, FIRE pressed at reset where the game has it. Reward clipping is a reward wrapper
(``gymsuite.rewards.clipping``), outside ``Monitor``, so logs and evaluation report the game's score.
The fast path, :class:`~gymsuite.envs.atari_vector.NativeAtariVecEnv`, gives the same observations from
ale-py's C++ vector env (``tests/envs/test_atari.py`` checks it step for step).

Options are the ``atari`` hyperparameter (a mapping of :class:`AtariOptions`).

Why by hand: gymnasium's ``AtariPreprocessing`` has no FIRE reset and its episodic life is
inside ``Monitor``; SB3's ``AtariWrapper`` stacks frames outside the env (``VecFrameStack``),
channels last, which the native vector env does not match.

Shapes: N envs, K stacked frames, H/W image: an observation is ``(K, H, W)`` uint8.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from gymsuite.common.errors import UserError
from gymsuite.common.options import Rule, option, parse
from gymsuite.envs.specs import close_ids


@dataclass(frozen=True)
class AtariOptions:
    """The ``atari`` hyperparameter (``--hyperparams atari="{episodic_life: true}"``)."""

    noop_max: int = option(30, "random no-op frames at the start of a game (0: none)", Rule(int, low=0))
    frame_skip: int = option(4, "frames per agent step (the action repeats; the last two frames max-pooled)",
                             Rule(int, low=1))
    screen_size: int = option(84, "side of the square grey observation", Rule(int, low=8))
    frame_stack: int = option(4, "frames stacked into one observation (K)", Rule(int, low=1))
    clip_reward: bool = option(True, "train on sign(reward); logs and evaluation keep the game's score", Rule(bool))
    episodic_life: bool = option(False, "a lost life ends the learning episode (the game goes on; Monitor still "
                                 "reports whole games); off by default, as Machado et al. 2018 advise", Rule(bool))
    fire_reset: bool = option(True, "press FIRE at reset in games that have it", Rule(bool))
    repeat_action_probability: float | None = option(
        None, "sticky actions; null: the id's own (0.25 for v5, 0 for NoFrameskip-v4)",
        Rule(float, low=0, high=1, finite=True, nullable=True))
    native: bool = option(True, "train on ale-py's C++ vector env when the run allows it", Rule(bool))


def is_atari(spec: object) -> bool:
    """True for the ids that get this preprocessing: ``ALE/Game-v5`` and ``GameNoFrameskip-v4``."""
    return isinstance(spec, str) and ":" not in spec and (spec.startswith("ALE/") or spec.endswith("NoFrameskip-v4"))


def options(given: dict[str, Any] | None) -> AtariOptions:
    """The ``atari`` hyperparameter checked (unknown keys get the closest name)."""
    if given is not None and not isinstance(given, dict):
        raise UserError(f"bad value for 'atari': {given!r}", "atari must be a mapping, e.g. {episodic_life: true}")
    return parse(AtariOptions, given or {}, "atari option")


def require_ale() -> None:
    """Import ale-py (which registers the ids); its absence is one :class:`UserError`."""
    try:
        module = importlib.import_module("ale_py")
    except ModuleNotFoundError as err:
        raise UserError("Atari games need the package ale-py, which is not installed",
                        "pip install ale-py (its ROMs ship with it)") from err
    gym.register_envs(module)


def game_of(env_id: str) -> str:
    """The ROM name ale-py knows (``"pong"``) for a registered Atari id; an unknown id gets the closest ones."""
    require_ale()
    if env_id not in gym.registry:
        raise UserError(f"unknown Atari id {env_id!r}",
                        close_ids(env_id, [i for i in gym.registry if is_atari(i)],
                                  otherwise="list them: python -c 'import gymnasium, ale_py; "
                                            "gymnasium.register_envs(ale_py); gymnasium.pprint_registry()'"))
    return str(gym.spec(env_id).kwargs["game"])


def sticky(env_id: str, opts: AtariOptions) -> float:
    """The repeat-action probability of a run: the option, else the id's own."""
    if opts.repeat_action_probability is not None:
        return opts.repeat_action_probability
    return float(gym.spec(env_id).kwargs.get("repeat_action_probability", 0.0))


def max_frames(max_episode_steps: int | None, opts: AtariOptions) -> int:
    """Frames in a game before truncation: ``max_episode_steps`` counts agent steps; ALE's default is 108,000."""
    return 108_000 if max_episode_steps is None else max_episode_steps * opts.frame_skip


CONSOLE_FPS = 60  # the Atari 2600's frames per second (NTSC), the pace of ale-py's frames


def steps_per_second(env: gym.Env) -> float | None:
    """Agent steps per second of game time for an ale-py env through any wrappers; None for other envs.

    One step plays the ale env's ``frameskip`` frames (4 in ``ALE/...-v5``, a random 2-4 in ``...-v4``:
    its mean) times each ``AtariPreprocessing``'s ``frame_skip`` (this module's, over an env with
    frameskip 1) of the console's :data:`CONSOLE_FPS`. ale-py's ``render_fps`` (30) counts neither, so a
    video at that rate plays a v5 game twice too fast.
    """
    frames = 1.0
    while isinstance(env, gym.Wrapper):
        if isinstance(env, gym.wrappers.AtariPreprocessing):
            frames *= env.frame_skip
        env = env.env
    if not type(env).__module__.startswith("ale_py"):
        return None
    skip = getattr(env, "_frameskip", 1)  # AtariEnv's frameskip: an int, or (low, high) for integers(low, high)
    frames *= (skip[0] + skip[1] - 1) / 2 if isinstance(skip, tuple) else skip
    return CONSOLE_FPS / frames


class FireOnReset(gym.Wrapper):
    """Press FIRE for one frame after each reset (games such as Breakout wait for it), as ale-py's vector env does."""

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        obs, _, terminated, truncated, info = self.env.step(1)
        if terminated or truncated:
            obs, info = self.env.reset(**kwargs)
        return obs, info


def needs_fire(env: gym.Env) -> bool:
    """Whether the game's action set has FIRE as action 1."""
    meanings = env.unwrapped.get_action_meanings()  # type: ignore[attr-defined]
    return len(meanings) > 1 and meanings[1] == "FIRE"


def raw_env(env_id: str, opts: AtariOptions, render_mode: str | None = None,
            max_episode_steps: int | None = None) -> gym.Env:
    """The ale-py env one frame per step (preprocessing does the skip), with the run's sticky actions."""
    require_ale()
    return gym.make(env_id, frameskip=1, render_mode=render_mode, repeat_action_probability=sticky(env_id, opts),
                    max_num_frames_per_episode=max_frames(max_episode_steps, opts))


def preprocess(env: gym.Env, opts: AtariOptions) -> gym.Env:
    """Inside ``Monitor``: FIRE reset, no-ops, frame skip with max-pool, resize to grey, frame stack ``(K, H, W)``."""
    if opts.fire_reset and needs_fire(env):
        env = FireOnReset(env)
    env = gym.wrappers.AtariPreprocessing(env, noop_max=opts.noop_max, frame_skip=opts.frame_skip,
                                          screen_size=opts.screen_size, terminal_on_life_loss=False)
    return gym.wrappers.FrameStackObservation(env, opts.frame_stack, padding_type="zero")


class EpisodicLife(gym.Wrapper):
    """Outside ``Monitor``: a lost life ends the learning episode, and the next reset continues the same game.

    SB3's ``EpisodicLifeEnv`` steps a NOOP to continue; here the game goes on from the frame stack
    of the life's last step, with no extra step, so the agent's steps equal the game's.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._lives, self._game_over = 0, True
        self._last: Any = None

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._game_over = terminated or truncated
        lives = self.env.unwrapped.ale.lives()  # type: ignore[attr-defined]
        lost = 0 < lives < self._lives
        self._lives, self._last = lives, obs
        return obs, reward, terminated or lost, truncated, info

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        if self._game_over:
            obs, info = self.env.reset(**kwargs)
            self._lives, self._game_over = self.env.unwrapped.ale.lives(), False  # type: ignore[attr-defined]
            return obs, info
        return self._last, {}
