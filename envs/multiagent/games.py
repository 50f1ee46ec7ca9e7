"""Fixed opponents for the classic board games: random, scripted (win, else block, else random), minimax.

Every opponent is ``fn(obs, mask) -> action`` (:data:`gymsuite.envs.multiagent.turnbased.Opponent`), reading the
observation planes that PettingZoo's classic games give the player to move (their layout and the games' rules:
:mod:`gymsuite.envs.multiagent.rules`).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from gymsuite.common.errors import UserError
from gymsuite.envs.multiagent.rules import GAMES, Game, game_of, tactical_moves
from gymsuite.envs.multiagent.turnbased import Opponent, random_opponent

__all__ = ["GAMES", "OPPONENTS", "PLAYS", "Game", "game_of", "minimax_move", "opponent", "opponents_for",
           "scripted_move"]

OPPONENTS = ("random", "scripted", "minimax")
# How each opponent plays, in a few words for a person reading a results table.
PLAYS = {"random": "uniform random legal moves", "scripted": "wins, else blocks, else random",
         "minimax": "perfect play"}


def opponents_for(game: str | None) -> tuple[str, ...]:
    """The opponents :func:`opponent` can build for ``game`` (None: a game it has no rules for)."""
    if game is None:
        return ("random",)
    return OPPONENTS if game == "tictactoe" else ("random", "scripted")


def opponent(name: str, game: str | None, seed: int | None = None) -> Opponent:
    """The opponent ``name`` for ``game`` (a :data:`GAMES` key), its random choices drawn from ``seed``.

    Raises:
        UserError: an unknown name, or one that ``game`` has no rules for (minimax beyond tic-tac-toe).
    """
    rng = np.random.default_rng(seed)
    if name not in opponents_for(game):
        known = opponents_for(game)
        raise UserError(f"no opponent {name!r} for {game or 'this game'}", f"choose one of {', '.join(known)}")
    if name == "random":
        return random_opponent(rng)
    rules = GAMES[str(game)]
    if name == "scripted":
        return lambda obs, mask: scripted_move(rules, obs, mask, rng)
    return lambda obs, mask: minimax_move(obs, mask, rng)


def scripted_move(game: Game, obs: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> int:
    """Win now if a legal move does, else block the opponent's immediate win (the lowest such action), else a random
    legal move."""
    moves = tactical_moves(game, obs, mask)
    if moves is not None:
        return int(np.flatnonzero(moves)[0])
    return int(rng.choice(np.flatnonzero(mask)))


_LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]
_FULL = (1 << 9) - 1


def _has_line(bits: int) -> bool:
    return any(all(bits >> i & 1 for i in line) for line in _LINES)


@cache
def _negamax(own: int, other: int) -> int:
    """The value for the player to move (1 win, 0 draw, -1 loss) under perfect play; boards as 9-bit sets."""
    if _has_line(other):
        return -1
    if own | other == _FULL:
        return 0
    return max(-_negamax(other, own | 1 << a) for a in range(9) if not (own | other) >> a & 1)


def minimax_move(obs: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> int:
    """A perfect tic-tac-toe move (memoised negamax), chosen at random among the equally good ones."""
    own = int(sum(1 << i for i in np.flatnonzero(obs[..., 0].reshape(-1) > 0)))
    other = int(sum(1 << i for i in np.flatnonzero(obs[..., 1].reshape(-1) > 0)))
    legal = [int(a) for a in np.flatnonzero(mask)]
    values = [-_negamax(other, own | 1 << a) for a in legal]
    best = max(values)
    return int(rng.choice([a for a, v in zip(legal, values, strict=True) if v == best]))
