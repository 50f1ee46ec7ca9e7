"""gymsuite play and record on board games: scripted clicks and keys, the tally, videos, errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
import pytest
import torch

from gymsuite.agents.saved import boardgame
from gymsuite.agents.saved.humanplay import Event, ScriptedEvents, keys, play_games
from gymsuite.agents.saved.loading import LoadedAgent, load_agent
from gymsuite.agents.saved.video import check_recordable, record
from gymsuite.commands import _cli, play
from gymsuite.commands import record as record_cmd

torch.set_num_threads(1)
TTT = "pettingzoo.classic.tictactoe_v3"
C4 = "pettingzoo.classic.connect_four_v3"


def first_legal(obs: np.ndarray, mask: np.ndarray) -> int:
    """A fixed opponent: the lowest-numbered legal move."""
    return int(np.flatnonzero(mask)[0])


def key_of(action: int) -> str:
    """Tic-tac-toe's key for PettingZoo's cell ``action`` (3 * column + row): cells numbered in reading order."""
    column, row = divmod(action, 3)
    return str(3 * row + column + 1)


def click_on(action: int, size: int = 480) -> Event:
    """A click in the middle of tic-tac-toe cell ``action`` on a ``size`` x ``size`` frame."""
    column, row = divmod(action, 3)
    return Event("click", pos=((column + 0.5) * size / 3, (row + 0.5) * size / 3))


class Shown:
    """A display that keeps what it was asked to show."""

    def __init__(self) -> None:
        self.lines: list[list[str]] = []
        self.shapes: set[tuple[int, ...]] = set()

    def show(self, frame: np.ndarray, lines: list[str]) -> None:
        self.shapes.add(frame.shape)
        self.lines.append(lines)


def game(spec: str) -> tuple[Any, boardgame.Board]:
    board = boardgame.board_for(spec)
    return boardgame.make_game(spec, render_mode="rgb_array", **board.render_kwargs), board


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    """Events the play command's window will deliver; the built-in opponents become :func:`first_legal`."""
    events: list[Event] = []
    monkeypatch.setattr(play, "check_display", lambda: None)  # SDL's dummy driver, and the events scripted
    monkeypatch.setattr(play, "PygameEvents", lambda screen: ScriptedEvents(events))
    monkeypatch.setattr(boardgame, "named_player", lambda name, spec, seed=None: first_legal)
    return events


def test_clicks_play_tictactoe_to_a_win_from_the_command(scripted: list[Event],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    # X on the diagonal 0, 4, 8; the opponent takes 1 and 2 on its way
    scripted += [click_on(0), click_on(4), click_on(8)]
    assert _cli.run(play.main, ["--env", TTT, "--opponent", "random", "--games", "1"]) == 0
    out = capsys.readouterr().out
    assert "game 1: you won (5 moves)" in out and "1 won, 0 drawn, 0 lost" in out


def test_an_illegal_click_is_refused_and_the_game_goes_on() -> None:
    env, board = game(TTT)
    shown = Shown()
    # seat 1: X (the opponent) takes cell 0 first; the click on it is refused, then O takes the middle row
    # (cells 1, 4, 7 in PettingZoo's numbering) while X takes 2 and 3
    events = ScriptedEvents([click_on(0), click_on(1), click_on(4), click_on(7)])
    tally = play_games(env, board, first_legal, 1, 1, events, shown, report=lambda line: None)
    assert any("legal" in line for lines in shown.lines for line in lines)  # the refusal was shown
    assert (tally.win, tally.draw, tally.loss) == (1, 0, 0)
    assert shown.shapes == {(480, 480, 3)}


def test_the_tally_counts_wins_draws_and_losses_and_drops_an_unfinished_game() -> None:
    env, board = game(TTT)
    win = keys(*map(key_of, (0, 4, 8)))
    loss = keys(*map(key_of, (3, 4, 6)))  # the opponent fills column 0 (cells 0, 1, 2)
    draw = keys(*map(key_of, (1, 3, 4, 6, 8)))
    between = [Event("click", pos=(1.0, 1.0))]  # any click starts the next game
    events = ScriptedEvents([*win, *between, *loss, *between, *draw, *between, *keys("5"), Event("quit")])
    results: list[str] = []
    tally = play_games(env, board, first_legal, 0, 4, events, Shown(), report=results.append)
    assert (tally.win, tally.draw, tally.loss) == (1, 1, 1) and tally.games == 3 and len(results) == 3


def test_keys_play_connect_four_and_unmapped_keys_are_ignored() -> None:
    env, board = game(C4)
    # red drops four in column 3 (key "3" is column index 2); the opponent stacks column 0
    events = ScriptedEvents([*keys("3", "x", "3", "[3]", "3")])
    tally = play_games(env, board, first_legal, 0, 1, events, Shown(), report=lambda line: None)
    assert (tally.win, tally.loss) == (1, 0)


@pytest.mark.parametrize("spec", [TTT, C4])
def test_a_click_on_a_drawn_piece_names_its_move(spec: str) -> None:
    env, board = game(spec)
    for action in range(env.action_space(env.possible_agents[0]).n):
        env.reset()
        before = env.render().astype(int)
        env.step(action)
        after = env.render()
        rows, cols = np.nonzero(np.abs(after.astype(int) - before).sum(-1) > 60)  # the new piece's pixels
        for x, y in ((cols.mean(), rows.mean()), (cols.min() + 2, rows.min() + 2), (cols.max() - 2, rows.max() - 2)):
            assert board.action_at(x, y, after) == action
    assert board.action_at(-5, 3, after) is None


def test_record_writes_one_frame_per_move_and_one_per_start(tmp_path: Path) -> None:
    check_recordable(C4)  # train --video takes board games
    summary = record(load_agent("random", env=TTT), tmp_path / "ttt.mp4", episodes=2, seed=3)
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "ttt.mp4"))
    assert frames == summary["frames"] == sum(summary["lengths"]) + 2 and min(summary["lengths"]) >= 5
    assert len(summary["returns"]) == 2 and all(r in (-1.0, 0.0, 1.0) for r in summary["returns"])


def test_record_random_connect_four_from_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "c4.mp4"
    assert _cli.run(record_cmd.main, ["random", "--env", C4, "--out", str(out), "--opponent", "random"]) == 0
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert f"({frames} frames at 2 fps" in capsys.readouterr().out and 8 <= frames <= 43


@pytest.fixture(scope="module")
def ttt_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny selfplay run on tic-tac-toe (512 steps, about a second)."""
    from gymsuite.agents.run.config import build_config
    from gymsuite.agents.run.training import train

    run = tmp_path_factory.mktemp("runs") / "ttt"
    cfg = build_config({"algo": "selfplay", "env": TTT, "timesteps": 64, "eval_episodes": 2, "seed": 0,
                        "n_envs": 2}, overrides=["n_steps=32", "batch_size=32"])
    train(cfg, run)
    return run


def test_a_person_plays_a_trained_run_from_its_run_directory(ttt_run: Path, scripted: list[Event],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    scripted += keys(*"123456789")  # taken cells are refused; every free cell's key is still ahead
    assert _cli.run(play.main, ["--opponent", str(ttt_run), "--seat", "1", "--games", "1"]) == 0
    out = capsys.readouterr().out
    assert "game 1: you" in out and "tic-tac-toe, seat 1" in out


def test_record_a_run_against_minimax_from_both_seats(ttt_run: Path, tmp_path: Path) -> None:
    summary = record(load_agent(str(ttt_run)), tmp_path / "m.mp4", episodes=2, opponent="minimax")
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "m.mp4"))
    assert frames == summary["frames"] == sum(summary["lengths"]) + 2
    assert all(r <= 0 for r in summary["returns"])  # the perfect player never loses


def test_the_run_player_moves_only_where_the_mask_allows(ttt_run: Path) -> None:
    player = boardgame.agent_player(load_agent(str(ttt_run)), TTT, deterministic=False)
    obs = np.zeros((3, 3, 2), np.int8)
    for legal in range(9):
        mask = np.zeros(9, bool)
        mask[legal] = True
        assert {player(obs, mask) for _ in range(5)} == {legal}


def test_play_refuses_a_run_trained_on_another_game(ttt_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.run(play.main, ["--env", C4, "--opponent", str(ttt_run)]) == 2
    assert "tictactoe" in capsys.readouterr().err


def test_evaluate_prints_whom_it_played_and_the_table_from_each_seat(ttt_run: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from gymsuite.commands import evaluate

    assert _cli.run(evaluate.main, [str(ttt_run), "--episodes", "6", "--json"]) == 0
    games = json.loads(capsys.readouterr().out)["games"]
    assert _cli.run(evaluate.main, [str(ttt_run), "--episodes", "6"]) == 0  # the same games, seeded
    lines = capsys.readouterr().out.splitlines()
    assert "12 games against the random opponent" in lines[0]  # the mean's opponent, and both seats' 6 games
    rows = {line.split()[0]: re.findall(r"(\d+)%", line) for line in lines[1:] if "%" in line}
    assert list(rows) == ["random", "scripted", "minimax"]  # every opponent named, in order
    for name, cells in rows.items():
        expected = [round(100 * games[name][seat][k]) for seat in ("seat_0", "seat_1") for k in ("win", "draw", "loss")]
        assert [int(c) for c in cells] == expected, name


def test_train_prints_the_final_evaluations_table_of_a_game(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gymsuite.commands import train

    assert _cli.run(train.main, ["--algo", "selfplay", "--env", TTT, "--timesteps", "64", "--n-envs", "2",
                                 "--eval-episodes", "2", "--run-dir", str(tmp_path / "t"), "--hyperparams",
                                 "n_steps=32", "batch_size=32"]) == 0
    out = capsys.readouterr().out
    assert "over 4 games against the random opponent" in out  # 2 from each seat
    assert [line.split()[0] for line in out.splitlines() if "%" in line] == ["random", "scripted", "minimax"]


@pytest.mark.parametrize("algo,shape,moves,key", [("ppo", (3, 3, 2), 9, "MaskablePPO"),
                                                   ("selfplay", (6, 7, 2), 7, "fit")])
def test_a_model_that_reads_no_masks_or_another_board_is_refused(algo: str, shape: tuple[int, ...], moves: int,
                                                                 key: str) -> None:
    import gymnasium as gym
    from sb3_contrib import MaskablePPO
    from stable_baselines3 import PPO

    class Board(gym.Env):
        observation_space = gym.spaces.Box(0, 1, shape, np.float32)
        action_space = gym.spaces.Discrete(moves)

    cls = PPO if algo == "ppo" else MaskablePPO
    agent = LoadedAgent(cls("MlpPolicy", Board(), n_steps=8, batch_size=8, device="cpu"), algo, TTT)
    with pytest.raises(boardgame.UserError, match=key):
        boardgame.agent_player(agent, TTT)


# --------------------------------------------------------------------------- errors


def test_play_refuses_a_game_without_a_board(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.run(play.main, ["--env", "pettingzoo.classic.rps_v2", "--opponent", "random"]) == 2
    assert "board" in capsys.readouterr().err


@pytest.mark.parametrize("flag", [["--seat", "2"], ["--games", "0"], ["--out", "x.npz"]])
def test_play_refuses_a_bad_seat_or_game_count(flag: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.run(play.main, ["--env", TTT, *flag]) == 2
    assert flag[0] in capsys.readouterr().err


def test_play_without_a_display(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(play.sys, "platform", "linux")
    assert _cli.run(play.main, ["--env", TTT, "--opponent", "minimax"]) == 2
    assert "display" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--env", "CartPole-v1", "--opponent", "minimax"], ["--env", TTT, "--agent-view"],
                                  ["--env", C4, "--opponent", "minimax"]])
def test_record_refuses_an_opponent_outside_games_and_agent_view_in_games(
        args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.run(record_cmd.main, ["random", *args, "--out", str(tmp_path / "x.mp4")]) == 2
    flag = next(a for a in args[2:] if a.startswith("--"))
    assert (flag if args[1] != C4 else "minimax") in capsys.readouterr().err and not (tmp_path / "x.mp4").exists()


def test_the_window_turns_pygame_clicks_and_keys_into_events() -> None:
    screen = play.Screen("test")
    try:
        screen.show(np.zeros((60, 90, 3), np.uint8), ["a", "b", "c"])
        pg = screen.pygame
        pg.event.post(pg.event.Event(pg.MOUSEBUTTONDOWN, button=1, pos=(30, screen.top + 20)))
        pg.event.post(pg.event.Event(pg.KEYDOWN, key=pg.K_5, mod=0, unicode="5", scancode=0))
        pg.event.post(pg.event.Event(pg.KEYDOWN, key=pg.K_ESCAPE, mod=0, unicode="", scancode=0))
        events = play.PygameEvents(screen)
        got = [events.next() for _ in range(3)]
    finally:
        screen.close()
    assert screen.top > 0
    assert got == [Event("click", pos=(30.0, 20.0)), Event("key", "5"), Event("quit")]
