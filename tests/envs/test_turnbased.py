"""SeatEnv: the learner's reward includes the opponent's winning move; seats, masks, seeding, frames; the games."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.classic import connect_four_v3, tictactoe_v3

from gymsuite.common.errors import UserError
from gymsuite.envs.multiagent.games import game_of, opponent
from gymsuite.envs.multiagent.turnbased import SeatEnv, make_seat_vec

# Scripted tic-tac-toe games (cells 0..8, row-major). Seat 0 (X) plays 0, 1, 2 and wins on its third
# move; seat 1 (O) plays 3, 4, 5 and would win on ITS third move, which never comes.
X_WINS = {0: [0, 1, 2], 1: [3, 4, 8]}
O_WINS = {0: [0, 1, 6], 1: [3, 4, 5]}  # X blunders (6 after 0, 1), O completes 3-4-5
DRAW = {0: [0, 2, 5, 6, 7], 1: [1, 3, 4, 8]}  # X O X / O O X / X X O


def play(script: dict[int, list[int]], seat: int) -> list[tuple[float, bool, dict]]:
    """The learner on ``seat`` plays its script; the opponent plays the other seat's script."""
    env = SeatEnv(tictactoe_v3.env, seat=seat)
    moves = iter(script[1 - seat])
    env.set_opponent(lambda obs, mask: next(moves))
    env.reset(seed=0)
    steps = []
    for action in script[seat]:
        _, reward, terminated, truncated, info = env.step(action)
        assert not truncated
        steps.append((reward, terminated, info))
        if terminated:
            break
    return steps


@pytest.mark.parametrize("seat", [0, 1])
def test_the_loser_gets_minus_one_at_its_last_step(seat: int) -> None:
    loser_script = X_WINS if seat == 1 else O_WINS  # the opponent (seat 1 - seat) wins with its move
    steps = play(loser_script, seat)
    rewards = [r for r, _, _ in steps]
    assert rewards == [0.0] * (len(rewards) - 1) + [-1.0]
    assert steps[-1][1] and steps[-1][2] == {"outcome": -1, "seat": seat}


@pytest.mark.parametrize("seat", [0, 1])
def test_the_winner_gets_plus_one_and_a_draw_zero(seat: int) -> None:
    steps = play(X_WINS if seat == 0 else O_WINS, seat)
    assert [r for r, _, _ in steps] == [0.0, 0.0, 1.0] and steps[-1][2]["outcome"] == 1
    draw = play(DRAW, seat)
    assert sum(r for r, _, _ in draw) == 0.0 and draw[-1][1] and draw[-1][2]["outcome"] == 0


def test_seats_alternate_and_masks_follow_the_board() -> None:
    venv = make_seat_vec(tictactoe_v3.env, n_envs=2, seed=3)
    obs = venv.reset()
    assert obs.shape == (2, 3, 3, 2) and obs.dtype == np.float32
    seats = [env.unwrapped.seat for env in venv.unwrapped.envs]
    assert seats == [0, 1]
    assert obs[0].sum() == 0 and obs[1, :, :, 1].sum() == 1  # seat 1 sees the opponent's first mark
    masks = np.stack(venv.env_method("action_masks"))
    assert masks.dtype == bool and (masks == (obs.sum(axis=-1).reshape(2, 9) == 0)).all()
    seen = []
    for _ in range(30):  # random play until every copy finished an episode or two
        actions = [int(np.random.default_rng(0).choice(np.flatnonzero(m))) for m in venv.env_method("action_masks")]
        _, _, dones, infos = venv.step(np.array(actions))
        seen += [info["seat"] for done, info in zip(dones, infos, strict=True) if done]
    assert {0, 1} <= set(seen) and all("episode" in i for i in infos if "outcome" in i)


def test_seeded_vec_envs_repeat_their_games() -> None:
    def outcomes() -> list[float]:
        venv = make_seat_vec(connect_four_v3.env, n_envs=2, seed=7)
        venv.reset()
        rewards = []
        for _ in range(60):
            masks = venv.env_method("action_masks")
            _, reward, _, _ = venv.step(np.array([int(np.flatnonzero(m)[0]) for m in masks]))
            rewards.append(reward.tolist())
        return rewards

    assert outcomes() == outcomes()


def test_rgb_frames() -> None:
    env = SeatEnv(connect_four_v3.env, render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.ndim == 3 and frame.shape[2] == 3


def win_rates(game: str, make, learner, other, games: int = 100) -> dict[int, np.ndarray]:
    env = SeatEnv(make)
    env.set_opponent(other)
    env.reset(seed=0)
    results: dict[int, list[int]] = {0: [], 1: []}
    for _ in range(games):
        obs, _ = env.reset()
        terminated = truncated = False
        while not (terminated or truncated):
            obs, _, terminated, truncated, info = env.step(learner(obs, env.action_masks()))
        results[info["seat"]].append(info["outcome"])
    return {seat: np.array(v) for seat, v in results.items()}


def test_minimax_never_loses_and_draws_against_itself() -> None:
    vs_random = win_rates("tictactoe", tictactoe_v3.env, opponent("minimax", "tictactoe", 1),
                          opponent("random", "tictactoe", 2))
    assert all((v >= 0).all() and (v == 1).mean() > 0.6 for v in vs_random.values())
    selfplay = win_rates("tictactoe", tictactoe_v3.env, opponent("minimax", "tictactoe", 1),
                         opponent("minimax", "tictactoe", 2), games=40)
    assert all((v == 0).all() for v in selfplay.values())


@pytest.mark.parametrize("game,make", [("tictactoe", tictactoe_v3.env), ("connect_four", connect_four_v3.env)])
def test_scripted_beats_random(game: str, make) -> None:
    results = win_rates(game, make, opponent("scripted", game, 1), opponent("random", game, 2))
    for outcomes in results.values():
        assert (outcomes == 1).mean() > 0.6 and (outcomes == -1).mean() < 0.15


def test_scripted_wins_and_blocks() -> None:
    scripted = opponent("scripted", "connect_four", 0)
    obs = np.zeros((6, 7, 2), np.float32)
    obs[5, 0:3, 1] = 1  # the opponent threatens columns 3
    obs[3:6, 6, 0] = 1  # we can win in column 6
    assert scripted(obs, np.ones(7, bool)) == 6
    obs[3:6, 6, 0] = 0
    assert scripted(obs, np.ones(7, bool)) == 3


def test_unknown_opponents_are_refused() -> None:
    assert game_of("pettingzoo.classic.connect_four_v3") == "connect_four"
    with pytest.raises(UserError, match="minimax"):
        opponent("minimax", "connect_four")
    with pytest.raises(UserError, match="champion"):
        opponent("champion", "tictactoe")
