"""Fixed opponents for the classic board games: random, scripted (win, else block, else random), minimax.

Every opponent is ``fn(obs, mask) -> action`` (:data:`gymsuite.envs.multiagent.turnbased.Opponent`), reading the
observation planes that PettingZoo's classic games give the player to move: ``obs`` (R, C, 2) with
plane 0 = own marks, plane 1 = the opponent's marks; ``mask`` (A,) bool, the legal moves.
Tic-tac-toe: R = C = 3, action a marks cell (a // 3, a % 3). Connect four: R = 6 (row 0 on top),
C = 7, action a drops a piece into column a (it lands on the lowest empty row).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from gymsuite.common.errors import UserError
from gymsuite.envs.multiagent.turnbased import Opponent, random_opponent

OPPONENTS = ("random", "scripted", "minimax")
# How each opponent plays, in a few words for a person reading a results table.
PLAYS = {"random": "uniform random legal moves", "scripted": "wins, else blocks, else random",
         "minimax": "perfect play"}


@dataclass(frozen=True)
class Game:
    """A k-in-a-row board: ``rows`` x ``cols``, ``k`` in a row wins, ``gravity`` drops pieces (connect four)."""

    rows: int
    cols: int
    k: int
    gravity: bool

    def cell(self, board: np.ndarray, action: int) -> tuple[int, int] | None:
        """The (row, col) that ``action`` marks on ``board`` ((R, C) occupied, bool), None when it is full."""
        if not self.gravity:
            r, c = divmod(action, self.cols)
            return None if board[r, c] else (r, c)
        empty = np.flatnonzero(~board[:, action])
        return None if len(empty) == 0 else (int(empty[-1]), action)

    def wins(self, marks: np.ndarray, r: int, c: int) -> bool:
        """True when the mark at (r, c) completes ``k`` in a row on ``marks`` ((R, C) bool, the mark set)."""
        for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
            count = 1
            for sign in (1, -1):
                rr, cc = r + sign * dr, c + sign * dc
                while 0 <= rr < self.rows and 0 <= cc < self.cols and marks[rr, cc]:
                    count, rr, cc = count + 1, rr + sign * dr, cc + sign * dc
            if count >= self.k:
                return True
        return False


GAMES = {"tictactoe": Game(3, 3, 3, gravity=False), "connect_four": Game(6, 7, 4, gravity=True)}


def game_of(name: str) -> str | None:
    """The :data:`GAMES` key of an env spec (``pettingzoo.classic.tictactoe_v3`` -> ``"tictactoe"``), or None."""
    return next((game for game in GAMES if game in name), None)


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
    """Win now if a legal move does, else block the opponent's immediate win, else a random legal move."""
    own, other = obs[..., 0] > 0, obs[..., 1] > 0
    legal = np.flatnonzero(mask)
    for marks in (own, other):  # first a winning move of ours, then one of theirs to block
        for action in legal:
            cell = game.cell(own | other, int(action))
            if cell is not None:
                trial = marks.copy()
                trial[cell] = True
                if game.wins(trial, *cell):
                    return int(action)
    return int(rng.choice(legal))


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
