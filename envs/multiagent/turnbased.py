"""Turn-based two-player games (PettingZoo AEC, e.g. ``pettingzoo.classic``) as single-agent gymnasium envs.

The learner plays one seat; the opponent's moves happen inside :meth:`SeatEnv.step`, so SB3 sees an
ordinary env whose observations are the learner's view of the board.

Why not PettingZoo's SB3 tutorial wrapper: it returns the reward of the learner's own move only, so
when the opponent's move ends the game (the learner lost) the final -1 never reaches the learner.
Here every AEC step's reward for the learner seat (``env.rewards[learner]``, the last step's rewards
for all agents) is summed between two learner moves, the opponent's winning move included.

Shapes: observation O = the game's ``"observation"`` (tic-tac-toe (3, 3, 2), connect four (6, 7, 2):
planes [own marks, opponent marks]) as float32; action mask (A,) bool over the game's Discrete(A) actions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

from gymsuite.common.errors import UserError
from gymsuite.envs.multiagent.rules import MaskRule
from gymsuite.envs.wrappers import VecFiniteGuard

Opponent = Callable[[np.ndarray, np.ndarray], int]
"""``fn(obs (O,) planes, mask (A,) bool) -> action``: a move for the seat to play."""
OpponentDraw = Callable[[np.random.Generator], Opponent]
"""Called at each reset with the env's generator: the opponent for the new episode."""

SEATS = ("alternate", 0, 1)


def random_opponent(rng: np.random.Generator) -> Opponent:
    """A uniformly random legal move, drawn from ``rng``."""

    def act(obs: np.ndarray, mask: np.ndarray) -> int:
        return int(rng.choice(np.flatnonzero(mask)))

    return act


class SeatEnv(gym.Env):
    """The learner plays one seat of a two-player AEC game against an opponent function.

    Args:
        make_aec: ``(render_mode=None, **env_kwargs) -> AECEnv`` of a two-player game whose
            observations are dicts with ``"observation"`` and ``"action_mask"``.
        seat: ``0`` (moves first), ``1``, or ``"alternate"`` (the seat flips at every reset).
        first_seat: with ``"alternate"``, the seat of the first episode (copies of a vector env
            start on different seats so that every batch holds both).
        render_mode: passed to the game (``"rgb_array"`` for videos).
        env_kwargs: passed to the game.
        mask_rule: ``rule(obs, legal (A,) bool) -> (A,) bool``, the moves the learner may choose among (the
            ``multiagent: {tactics: true}`` option: :func:`gymsuite.envs.multiagent.rules.tactical_mask`); None: the
            legal ones.

    At an episode's end ``info["outcome"]`` is 1, 0 or -1 (win, draw, loss: the sign of the
    learner's return) and ``info["seat"]`` the learner's seat.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 2}

    def __init__(self, make_aec: Callable[..., Any], seat: int | str = "alternate", first_seat: int = 0,
                 render_mode: str | None = None, env_kwargs: dict[str, Any] | None = None,
                 mask_rule: MaskRule | None = None) -> None:
        if seat not in SEATS:
            raise UserError(f"seat must be one of {SEATS}, got {seat!r}", "use 0 (moves first), 1 or 'alternate'")
        self.game = make_aec(render_mode=render_mode, **(env_kwargs or {}))
        agents = list(self.game.possible_agents)
        if len(agents) != 2:
            raise UserError(f"a turn-based game needs two players, this one has {len(agents)}: {agents}",
                            "self-play supports two-player games such as pettingzoo.classic.tictactoe_v3")
        self.agents = agents
        space = self.game.observation_space(agents[0])
        if not isinstance(space, spaces.Dict) or {"observation", "action_mask"} - set(space.spaces):
            raise UserError(f"{agents[0]}'s observations are {space}, not dicts with 'observation' and 'action_mask'",
                            "self-play needs a game that gives action masks, such as pettingzoo.classic's")
        board = space["observation"]
        assert isinstance(board, spaces.Box), f"the board is {board}, not a Box"
        self.observation_space = spaces.Box(np.float32(np.min(board.low)), np.float32(np.max(board.high)),
                                            board.shape, np.float32)
        self.action_space = self.game.action_space(agents[0])
        self.render_mode = render_mode
        self._fixed = None if seat == "alternate" else int(seat)
        self.seat = self._fixed if self._fixed is not None else 1 - first_seat  # flipped at the first reset
        self._rng = np.random.default_rng()
        self._draw: OpponentDraw = random_opponent
        self._opponent: Opponent = random_opponent(self._rng)
        self._fixed_opponent = False
        self._return = 0.0
        self.mask_rule = mask_rule
        self._mask: np.ndarray | None = None  # the learner's moves in the current position, once asked

    @property
    def learner(self) -> str:
        return self.agents[self.seat]

    def set_opponent(self, fn: Opponent) -> None:
        """Play every following episode against ``fn`` (from this moment on)."""
        self._opponent, self._fixed_opponent = fn, True

    def set_opponent_draw(self, draw: OpponentDraw) -> None:
        """Draw a new opponent at every reset with ``draw(rng)`` (the self-play pool)."""
        self._draw, self._fixed_opponent = draw, False

    def set_seat(self, seat: int | str) -> None:
        """Play ``seat`` (0, 1 or ``"alternate"``) from the next reset on."""
        if seat not in SEATS:
            raise UserError(f"seat must be one of {SEATS}, got {seat!r}", "use 0 (moves first), 1 or 'alternate'")
        self._fixed = None if seat == "alternate" else int(seat)
        if self._fixed is not None:
            self.seat = self._fixed
        self._mask = None

    def action_masks(self) -> np.ndarray:
        """(A,) bool: the learner's moves to choose among now: the legal ones, narrowed by ``mask_rule`` if any.

        Computed once per position: ``step``'s info and MaskablePPO's ``get_action_masks`` ask for the same one."""
        if self._mask is None:
            view = self.game.observe(self.learner)
            legal = np.asarray(view["action_mask"], dtype=bool)
            self._mask = legal if self.mask_rule is None else self.mask_rule(np.asarray(view["observation"]), legal)
        return self._mask.copy()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.game.reset(seed=seed)
        self._mask = None
        if self._fixed is None:
            self.seat = 1 - self.seat
        if not self._fixed_opponent:
            self._opponent = self._draw(self._rng)
        self._return = 0.0
        ended = self._play_opponent()
        assert not ended, "the game ended before the learner's first move"
        return self._obs(), {"action_mask": self.action_masks()}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        before = self._return
        self._act(int(action))
        ended = self._ended() or self._play_opponent()
        reward = self._return - before
        info: dict[str, Any] = {}
        terminated = truncated = False
        if ended:
            terminated = bool(self.game.terminations[self.learner])
            truncated = bool(self.game.truncations[self.learner]) and not terminated
            terminated = terminated or not truncated  # the game ended for both with neither flag on the learner
            info = {"outcome": int(np.sign(self._return)), "seat": self.seat}
        else:
            info = {"action_mask": self.action_masks()}
        return self._obs(), float(reward), terminated, truncated, info

    def render(self) -> Any:
        return self.game.render()

    def close(self) -> None:
        self.game.close()

    def _obs(self) -> np.ndarray:
        return np.asarray(self.game.observe(self.learner)["observation"], dtype=np.float32)

    def _act(self, action: int) -> None:
        """One AEC step by the agent to move; the learner's share of its rewards joins the return."""
        self.game.step(action)
        self._mask = None
        self._return += float(self.game.rewards.get(self.learner, 0.0))

    def _ended(self) -> bool:
        return any(self.game.terminations.values()) or any(self.game.truncations.values())

    def _play_opponent(self) -> bool:
        """The opponent moves until it is the learner's turn; True when the game ended meanwhile."""
        while not self._ended() and self.game.agent_selection != self.learner:
            view = self.game.observe(self.game.agent_selection)
            self._act(self._opponent(np.asarray(view["observation"]), np.asarray(view["action_mask"], dtype=bool)))
        return self._ended()


@dataclass(frozen=True)
class GameResult:
    """One finished game: ``returns`` per seat (seat 0 moved first) and the number of ``moves``."""

    returns: tuple[float, float]
    moves: int

    def outcome(self, seat: int) -> int:
        """1 (``seat`` won), 0 (draw) or -1 (lost)."""
        return int(np.sign(self.returns[seat]))


def play_game(env: Any, players: Sequence[Opponent], seed: int | None = None,
              on_move: Callable[[], None] | None = None) -> GameResult:
    """Play one game of the AEC ``env`` between ``players`` (seat i plays ``env.possible_agents[i]``).

    Each seat's return is the sum of what ``env.last()`` hands it at its turns, the final one
    included, so the loser's last reward counts even when the winner's move ended the game.
    ``on_move`` is called after the reset and after every move (to draw or record the board).
    Written beside :class:`SeatEnv`, which makes the opponent's move inside ``step`` (what training needs):
    a screen or a video would miss the board between two moves. The one match loop of gymsuite: ``play``,
    ``record``, the self-play pool's Elo games and the benchmark's judging all go through it.
    """
    env.reset(seed=seed)
    seats = {agent: i for i, agent in enumerate(env.possible_agents)}
    returns = [0.0, 0.0]
    moves = 0
    if on_move is not None:
        on_move()
    for agent in env.agent_iter():
        obs, reward, terminated, truncated, _ = env.last()
        returns[seats[agent]] += float(reward)
        if terminated or truncated:
            env.step(None)
            continue
        env.step(int(players[seats[agent]](np.asarray(obs["observation"]), np.asarray(obs["action_mask"], bool))))
        moves += 1
        if on_move is not None:
            on_move()
    return GameResult((returns[0], returns[1]), moves)


def make_seat_vec(source: Any, n_envs: int = 1, seed: int | None = 0, env_kwargs: dict[str, Any] | None = None,
                  render_mode: str | None = None, seat: int | str = "alternate",
                  wrappers: Sequence[Callable[[gym.Env], gym.Env]] = (),
                  mask_rule: MaskRule | None = None) -> VecEnv:
    """``n_envs`` seeded :class:`SeatEnv` copies: ``VecFiniteGuard(DummyVecEnv([Monitor(wrappers(SeatEnv)), ...]))``.

    Args:
        source: a ``MultiAgentSource`` (its ``make_aec``) or a plain ``(render_mode=None, **kw) -> AECEnv``.
        n_envs: copies (N); with ``seat="alternate"`` copy i starts on seat ``i % 2``.
        seed: copy i's first reset is seeded ``seed + i`` (the game and its random opponent).
        mask_rule: each copy's :class:`SeatEnv` ``mask_rule``.

    DummyVecEnv, not subprocesses: :meth:`SeatEnv.set_opponent_draw` hands the copies opponents
    that hold the learner's own policy, which must live in the training process.
    """
    if n_envs < 1:
        raise UserError(f"n_envs must be at least 1, got {n_envs}")
    make_aec = getattr(source, "make_aec", source)
    name = str(getattr(source, "name", getattr(make_aec, "__module__", "turn-based game")))

    def thunk(rank: int) -> Callable[[], gym.Env]:
        def _init() -> gym.Env:
            env: gym.Env = SeatEnv(make_aec, seat, rank % 2, render_mode, env_kwargs, mask_rule)
            for wrap in wrappers:
                env = wrap(env)
            return Monitor(env)

        return _init

    venv: VecEnv = VecFiniteGuard(DummyVecEnv([thunk(i) for i in range(n_envs)]), name)
    if seed is not None:
        venv.seed(seed)
        venv.action_space.seed(seed)
    return venv
