"""envs/multiagent/rules.py: the games' windows, the moves that complete a line, the one-move lookahead."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.classic import connect_four_v3

from gymsuite.common.errors import UserError
from gymsuite.envs.factory import make_env
from gymsuite.envs.multiagent.build import board_tactics
from gymsuite.envs.multiagent.rules import GAMES, tactical_mask, tactical_moves, tactics_for
from gymsuite.envs.multiagent.turnbased import SeatEnv, make_seat_vec
from gymsuite.envs.observation import EnvOptions
from gymsuite.envs.target import resolve_env

FOUR = GAMES["connect_four"]
ALL = np.ones(7, bool)


def board(own: list[tuple[int, int]], other: list[tuple[int, int]], rows: int = 6, cols: int = 7) -> np.ndarray:
    obs = np.zeros((rows, cols, 2), np.float32)
    for r, c in own:
        obs[r, c, 0] = 1
    for r, c in other:
        obs[r, c, 1] = 1
    return obs


def test_every_window_of_k_cells_in_a_row() -> None:
    assert FOUR.windows.shape == (69, 4) and GAMES["tictactoe"].windows.shape == (8, 3)
    assert {tuple(w) for w in GAMES["tictactoe"].windows} >= {(0, 1, 2), (0, 4, 8), (2, 4, 6), (2, 5, 8)}


def test_a_win_comes_first_then_a_block_then_every_legal_move() -> None:
    threat = [(5, 0), (5, 1), (5, 2)]  # the opponent wins in column 3
    stack = [(3, 6), (4, 6), (5, 6)]  # we win in column 6
    assert np.flatnonzero(tactical_mask(FOUR, board(stack, threat), ALL)).tolist() == [6]
    assert np.flatnonzero(tactical_mask(FOUR, board([], threat), ALL)).tolist() == [3]
    assert tactical_moves(FOUR, board([(5, 6)], [(5, 0)]), ALL) is None
    assert tactical_mask(FOUR, board([(5, 6)], [(5, 0)]), ALL).all()


def test_a_cell_counts_only_where_a_dropped_piece_lands() -> None:
    # The opponent's diagonal (5,0) (4,1) (3,2) needs (2,3): column 3 holds one piece, so a piece dropped there
    # lands on row 4, not row 2: no threat yet. Two more pieces under it, and column 3 is the block.
    diagonal = [(5, 0), (4, 1), (3, 2), (5, 3)]
    ours = [(5, 1), (5, 2), (4, 2)]
    assert tactical_moves(FOUR, board(ours, diagonal), ALL) is None
    assert np.flatnonzero(tactical_mask(FOUR, board([*ours, (4, 3)], [*diagonal, (3, 3)]), ALL)).tolist() == [3]


def test_only_legal_moves_are_offered() -> None:
    full_column = [(r, 3) for r in range(0, 6, 2)]
    threat = [(5, 0), (5, 1), (5, 2)]
    mask = ALL.copy()
    mask[3] = False
    obs = board(full_column, [*threat, *[(r, 3) for r in range(1, 6, 2)]])
    assert not tactical_mask(FOUR, obs, mask)[3]


def test_tictactoe_blocks_every_threat_at_once() -> None:
    obs = board([(1, 0), (1, 2), (2, 2)], [(0, 0), (0, 2), (1, 1), (2, 1)], 3, 3)
    mask = np.array([0, 1, 0, 0, 0, 0, 1, 0, 0], bool)
    assert np.flatnonzero(tactical_mask(GAMES["tictactoe"], obs, mask)).tolist() == [1, 6]


def test_the_seat_env_narrows_the_learner_s_moves_by_its_rule() -> None:
    env = SeatEnv(connect_four_v3.env, seat=0, mask_rule=tactics_for("connect_four"))
    moves = iter([0, 1, 2, 6])
    env.set_opponent(lambda obs, mask: next(moves))
    env.reset(seed=0)
    for action in (6, 6, 5):  # the opponent lays 0, 1, 2 on the bottom row: a threat in column 3
        env.step(action)
    assert np.flatnonzero(env.action_masks()).tolist() == [3]
    plain = make_seat_vec(connect_four_v3.env, n_envs=2)
    plain.reset()
    assert np.stack(plain.env_method("action_masks")).all()


def test_tactics_refuses_games_without_rules_and_parallel_envs() -> None:
    assert board_tactics("pettingzoo.classic.tictactoe_v3") is not None
    with pytest.raises(UserError, match="rules.*none for pettingzoo.classic.go_v5"):
        board_tactics("pettingzoo.classic.go_v5")
    options = EnvOptions.parse({"multiagent": {"tactics": True}})
    with pytest.raises(UserError, match="tactics is for turn-based board games"):
        make_env("mpe2.simple_spread_v3", options=options)
    assert resolve_env("pettingzoo.classic.tictactoe_v3").multiagent
    venv = make_env("pettingzoo.classic.tictactoe_v3", n_envs=2, options=options)
    assert venv.get_attr("mask_rule", [0])[0] is not None
