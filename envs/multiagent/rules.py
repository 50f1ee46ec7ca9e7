"""The k-in-a-row board games' rules, and the one-move lookahead that narrows a player's legal moves.

Reads the observation planes that PettingZoo's classic games give the player to move: ``obs`` (R, C, 2) with
plane 0 = own marks, plane 1 = the opponent's marks; ``mask`` (A,) bool, the legal moves. Tic-tac-toe: R = C = 3,
action a marks cell (a // 3, a % 3). Connect four: R = 6 (row 0 on top), C = 7, action a drops a piece into
column a (it lands on the lowest empty row).

:func:`tactical_mask` is the ``multiagent: {tactics: true}`` option of a turn-based game: the legal moves narrowed
to the ones that win now, else to the ones that stop the opponent's win on its next move. A policy trained with
it never misses a win or a block one move ahead; what it learns is the rest (threats, forks, the long game).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

MaskRule = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``rule(obs (R, C, 2) planes, mask (A,) bool) -> (A,) bool``: the moves a player may choose among."""


@dataclass(frozen=True)
class Game:
    """A k-in-a-row board: ``rows`` x ``cols``, ``k`` in a row wins, ``gravity`` drops pieces (connect four)."""

    rows: int
    cols: int
    k: int
    gravity: bool
    # Every window of k cells in a row, as flat cell indices (W, k): connect four's 69, tic-tac-toe's 8.
    windows: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        cells = np.arange(self.rows * self.cols).reshape(self.rows, self.cols)
        found = [[cells[r + i * dr, c + i * dc] for i in range(self.k)]
                 for r in range(self.rows) for c in range(self.cols) for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1))
                 if 0 <= r + (self.k - 1) * dr < self.rows and 0 <= c + (self.k - 1) * dc < self.cols]
        object.__setattr__(self, "windows", np.array(found, dtype=np.intp))

    def completing(self, marks: np.ndarray, occupied: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(A,) bool: the legal moves (``mask``) after which ``marks`` ((R, C) bool) hold k in a row.

        A window of k cells with k - 1 of ``marks`` and one empty cell is completed by the move that marks that
        cell: any move on a board without gravity, the move into its column when the cell is where a piece dropped
        there would land (the lowest empty row of the column)."""
        flat_marks, flat_occupied = marks.reshape(-1), occupied.reshape(-1)
        empty = ~flat_occupied[self.windows]
        open_windows = (flat_marks[self.windows].sum(axis=1) == self.k - 1) & (empty.sum(axis=1) == 1)
        cells = self.windows[open_windows][empty[open_windows]]
        out = np.zeros_like(mask, dtype=bool)
        if self.gravity:
            rows, cols = np.divmod(cells, self.cols)
            below = rows + 1
            landed = (below == self.rows) | occupied[np.minimum(below, self.rows - 1), cols]
            out[cols[landed]] = True
        else:
            out[cells] = True
        return out & mask


GAMES = {"tictactoe": Game(3, 3, 3, gravity=False), "connect_four": Game(6, 7, 4, gravity=True)}


def game_of(name: str) -> str | None:
    """The :data:`GAMES` key of an env spec (``pettingzoo.classic.tictactoe_v3`` -> ``"tictactoe"``), or None."""
    return next((game for game in GAMES if game in name), None)


def tactical_moves(game: Game, obs: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """(A,) bool: the legal moves that win now, else those that block the opponent's win on its next move; None
    when there is nothing to win or block."""
    own, other = obs[..., 0] > 0, obs[..., 1] > 0
    mask = np.asarray(mask, dtype=bool)
    for marks in (own, other):
        moves = game.completing(marks, own | other, mask)
        if moves.any():
            return moves
    return None


def tactical_mask(game: Game, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``mask`` narrowed to :func:`tactical_moves`, or ``mask`` itself (as bool) when there are none."""
    moves = tactical_moves(game, obs, mask)
    return np.asarray(mask, dtype=bool) if moves is None else moves


def tactics_for(name: str) -> MaskRule | None:
    """:func:`tactical_mask` for the game of the env spec ``name``, or None when gymsuite has no rules for it."""
    game = game_of(name)
    return None if game is None else partial(tactical_mask, GAMES[game])
