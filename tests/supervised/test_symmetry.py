"""The board's symmetries: permutations that form the group, and averaging that makes outputs equivariant."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gymsuite.common.errors import UserError
from gymsuite.supervised.symmetry import (
    COLUMNS,
    SymmetryAverage,
    board_symmetry,
    dihedral_permutations,
    flip_permutations,
    inverse,
)


def test_the_eight_permutations_are_numpy_s_rotations_and_flips_and_form_a_group() -> None:
    board = np.arange(16).reshape(4, 4)
    perms = dihedral_permutations(4)
    expected = [np.rot90(board, k) for k in range(4)] + [np.fliplr(np.rot90(board, k)) for k in range(4)]
    assert [board.reshape(-1)[p].reshape(4, 4).tolist() for p in perms] == [e.tolist() for e in expected]
    rows = {tuple(p) for p in perms}
    assert len(rows) == 8
    assert all(tuple(a[b]) in rows for a in perms for b in perms)  # closed under composition
    assert all(tuple(p) in rows for p in inverse(perms))
    assert (perms[np.arange(8)[:, None], inverse(perms)] == np.arange(16)).all()


def test_columns_keep_only_the_left_right_flip() -> None:
    sym = board_symmetry((6, 7, 2), 7)
    assert sym.actions == COLUMNS and sym.size == 2
    assert sym.action_perms[1].tolist() == [6, 5, 4, 3, 2, 1, 0]
    assert (np.arange(42).reshape(6, 7)[:, ::-1].reshape(-1) == flip_permutations(6, 7)[1]).all()


@pytest.mark.parametrize("shape,actions,what", [
    ((6, 7, 2), 42, "square"),          # one action per cell of a non-square board
    ((19, 19, 17), 362, "actions"),     # Go: a pass besides the cells
    ((8, 8, 111), 4672, "actions"),     # chess's moves
    ((9, 2), 9, "rows, columns"),       # no board
])
def test_boards_without_action_symmetries_are_refused(shape: tuple[int, ...], actions: int, what: str) -> None:
    with pytest.raises(UserError, match=what):
        board_symmetry(shape, actions)


def _net(n: int, c: int, a: int) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(n * c, 32), torch.nn.Tanh(), torch.nn.Linear(32, a))


@pytest.mark.parametrize("shape,actions", [((3, 3, 2), 9), ((6, 7, 2), 7)])
def test_averaged_logits_move_with_the_board_and_values_stay(shape: tuple[int, int, int], actions: int) -> None:
    sym = board_symmetry(shape, actions)
    average = SymmetryAverage(sym)
    net, value = _net(shape[0] * shape[1], shape[2], actions), _net(shape[0] * shape[1], shape[2], 1)
    boards = torch.randint(0, 2, (5, *shape)).float()  # (B, H, W, C)
    logits = average.logits(net(average.boards(boards)))
    values = average.values(value(average.boards(boards)))
    assert logits.shape == (5, actions) and values.shape == (5, 1)
    flat = boards.reshape(5, -1, shape[2])
    for g in range(sym.size):
        moved = flat[:, torch.as_tensor(sym.cell_perms[g])].reshape(boards.shape)  # the board turned by g
        moved_logits = average.logits(net(average.boards(moved)))
        # equivariance: the logit of cell i on the turned board is the logit of the cell it came from
        torch.testing.assert_close(moved_logits, logits[:, torch.as_tensor(sym.action_perms[g])], atol=1e-6, rtol=0)
        torch.testing.assert_close(average.values(value(average.boards(moved))), values, atol=1e-6, rtol=0)
    plain = net(boards)
    assert not torch.allclose(plain[:, torch.as_tensor(sym.action_perms[1])],
                              net(flat[:, torch.as_tensor(sym.cell_perms[1])].reshape(boards.shape)))  # it was not


def test_the_boards_copy_g_is_the_board_turned_by_g() -> None:
    sym = board_symmetry((3, 3, 1), 9)
    boards = torch.arange(18.0).reshape(2, 3, 3, 1)
    copies = SymmetryAverage(sym).boards(boards)  # (G * B, H, W, C)
    assert copies.shape == (16, 3, 3, 1)
    turned = np.rot90(boards[1, :, :, 0].numpy(), 1)
    assert (copies[1 * 2 + 1, :, :, 0].numpy() == turned).all()
