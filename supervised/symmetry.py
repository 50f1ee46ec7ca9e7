"""A board's symmetries as index permutations, and a network made invariant (values) or equivariant (action logits)
by averaging over them.

A square board of N x N cells has 8 symmetries, the dihedral group D4: the identity, three rotations by 90 degrees
and four reflections (about the two axes and the two diagonals). Tic-tac-toe's rules do not change under any of
them, so the best move on a rotated board is the rotated best move; a network only learns that from data, one
orientation at a time. Averaging over the group builds it in (group averaging, "symmetrisation"; Cohen & Welling
2016 do it layer by layer): for a policy network f from a board x to one logit per cell,

    f_bar(x) = 1/|G| sum_g  g^-1 . f(g . x)

satisfies f_bar(g . x) = g . f_bar(x) for every g in G exactly (up to float rounding: the same 8 terms are summed in
another order), and a value v_bar(x) = 1/|G| sum_g v(g . x) is invariant. A board whose actions are its columns
(Connect Four: drop a disc in column c) keeps only the left-right flip, which maps column c to W - 1 - c.

Cells are numbered row-major, cell ``i`` at row ``i // W`` and column ``i % W`` of the ``(H, W, C)`` observation,
which is PettingZoo classic's numbering of tic-tac-toe's actions (``board.squares.reshape(3, 3)``).

Shapes: G symmetries (8 or 2), B batch, H/W board rows/columns, C planes per cell, A actions (H * W cells or W
columns).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gymsuite.common.errors import UserError

CELLS = "cells"  # one action per cell: the 8 symmetries of a square board
COLUMNS = "columns"  # one action per column: the left-right flip


def dihedral_permutations(n: int) -> np.ndarray:
    """The 8 symmetries of an ``n x n`` board as permutations ``(8, n * n)`` int64 of its row-major cells.

    Row ``g`` says where each cell of the transformed board comes from: ``(g . x)[i] = x[perms[g, i]]``. Row 0 is the
    identity, rows 1-3 the rotations by 90, 180 and 270 degrees (counter-clockwise, :func:`numpy.rot90`), rows 4-7
    the same after a left-right flip.
    """
    cells = np.arange(n * n).reshape(n, n)
    turns = [np.rot90(cells, k) for k in range(4)]
    return np.stack([t.reshape(-1) for t in turns + [np.fliplr(t) for t in turns]]).astype(np.int64)


def flip_permutations(height: int, width: int) -> np.ndarray:
    """The identity and the left-right flip of an ``height x width`` board: ``(2, height * width)`` int64."""
    cells = np.arange(height * width).reshape(height, width)
    return np.stack([cells.reshape(-1), np.fliplr(cells).reshape(-1)]).astype(np.int64)


def inverse(perms: np.ndarray) -> np.ndarray:
    """The inverse of each row of ``perms`` ``(G, K)``: ``inverse(p)[g, p[g, i]] = i``."""
    inv = np.empty_like(perms)
    rows = np.arange(perms.shape[0])[:, None]
    inv[rows, perms] = np.arange(perms.shape[1])[None, :]
    return inv


@dataclass(frozen=True)
class BoardSymmetry:
    """The symmetries of one board and action layout.

    Attributes:
        height: H.
        width: W.
        actions: :data:`CELLS` (A = H * W) or :data:`COLUMNS` (A = W).
        cell_perms: ``(G, H * W)`` int64: ``(g . x)[i] = x[cell_perms[g, i]]`` over row-major cells.
        action_perms: ``(G, A)`` int64, the same symmetries acting on the actions.
    """

    height: int
    width: int
    actions: str
    cell_perms: np.ndarray
    action_perms: np.ndarray

    @property
    def size(self) -> int:
        """G, the number of symmetries (the identity included)."""
        return int(self.cell_perms.shape[0])


def board_symmetry(obs_shape: tuple[int, ...], n_actions: int) -> BoardSymmetry:
    """The symmetries of a board observation ``(H, W, C)`` with ``n_actions`` discrete actions.

    One action per cell (``n_actions == H * W``) on a square board: the 8 of :func:`dihedral_permutations`; one action
    per column (``n_actions == W``): the left-right flip.

    Raises:
        UserError: the observation is no ``(H, W, C)`` board, a board with one action per cell is not square (its
            rotations are no boards of the same shape), or the actions are neither one per cell nor one per column
            (e.g. Go's extra "pass", chess's moves), so no permutation of the actions follows the board's.
    """
    fix = ("drop symmetric=true (it fits square boards with one action per cell, e.g. pettingzoo.classic.tictactoe_v3,"
           " and boards with one action per column, e.g. connect_four_v3)")
    if len(obs_shape) != 3:
        raise UserError(f"symmetric=true needs a board observation (rows, columns, planes), got shape {obs_shape}", fix)
    height, width, _ = obs_shape
    if n_actions == height * width:
        if height != width:
            raise UserError(f"symmetric=true averages over the rotations of a square board, and this board is "
                            f"{height} x {width} with one action per cell (a rotation changes its shape)", fix)
        perms = dihedral_permutations(height)
        return BoardSymmetry(height, width, CELLS, perms, perms)
    if n_actions == width:
        columns = np.stack([np.arange(width), np.arange(width)[::-1]]).astype(np.int64)
        return BoardSymmetry(height, width, COLUMNS, flip_permutations(height, width), columns)
    raise UserError(f"symmetric=true maps each action to a cell or a column of the board, and this game has "
                    f"{n_actions} actions on a {height} x {width} board (neither {height * width} cells nor {width} "
                    "columns)", fix)


class SymmetryAverage(torch.nn.Module):
    """The two halves of group averaging: the G transformed copies of a batch of boards, and the network's outputs
    on them brought back to the original board and averaged.

    Args:
        symmetry: the board's symmetries (:func:`board_symmetry`).

    The permutations are buffers that are not saved (``persistent=False``): the state dict of a policy holding one
    is that of the plain policy, and the permutations follow from the spaces when it is built.
    """

    cells: torch.Tensor  # (G, H * W) int64, :attr:`BoardSymmetry.cell_perms`
    back: torch.Tensor  # (G, A) int64, the inverse of :attr:`BoardSymmetry.action_perms`

    def __init__(self, symmetry: BoardSymmetry) -> None:
        super().__init__()
        self.symmetry = symmetry
        self.register_buffer("cells", torch.as_tensor(symmetry.cell_perms), persistent=False)
        self.register_buffer("back", torch.as_tensor(inverse(symmetry.action_perms)), persistent=False)

    def boards(self, obs: torch.Tensor) -> torch.Tensor:
        """``(B, H, W, C)`` -> ``(G * B, H, W, C)``: copy ``g`` of the batch is rows ``g * B`` to ``(g + 1) * B``."""
        b, h, w, c = obs.shape
        flat = obs.reshape(b, h * w, c)
        moved = flat[:, self.cells.reshape(-1), :]  # (B, G * H * W, C)
        return moved.reshape(b, -1, h, w, c).transpose(0, 1).reshape(-1, h, w, c)

    def logits(self, logits: torch.Tensor) -> torch.Tensor:
        """``(G * B, A)`` logits of the transformed boards -> ``(B, A)`` in the original action order, averaged."""
        g, a = self.back.shape
        per = logits.reshape(g, -1, a)  # (G, B, A)
        index = self.back[:, None, :].expand(g, per.shape[1], a)
        return torch.gather(per, 2, index).mean(0)

    def values(self, values: torch.Tensor) -> torch.Tensor:
        """``(G * B, K)`` -> ``(B, K)``: the mean over the G copies (an invariant)."""
        return values.reshape(self.back.shape[0], -1, values.shape[-1]).mean(0)
