"""selfplay's ``symmetric=true`` and the board CNN: the policy rotates with the board, respects the mask, saves as a
plain MaskablePPO zip, trains; bad boards are refused before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from gymnasium import spaces
from pettingzoo.classic import tictactoe_v3
from sb3_contrib import MaskablePPO

from gymsuite.agents.multiagent.symmetric import SymmetricMaskablePolicy
from gymsuite.agents.run.config import build_config
from gymsuite.agents.run.training import train
from gymsuite.agents.saved.loading import load_agent
from gymsuite.commands import _cli
from gymsuite.commands import train as train_command
from gymsuite.common.errors import UserError
from gymsuite.supervised.cnns import BoardCnn

TTT = "pettingzoo.classic.tictactoe_v3"
C4 = "pettingzoo.classic.connect_four_v3"
POOL = "selfplay={snapshot_freq: 8000, elo_games: 0, latest: 0.3, past: 0, random: 0.5, scripted: 0.2, minimax: 0}"


@pytest.fixture(scope="module")
def symmetric_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "ttt-symmetric"
    cfg = build_config({"algo": "selfplay", "env": TTT, "timesteps": 8192, "eval_episodes": 60, "seed": 1},
                       overrides=["n_epochs=4", POOL, "symmetric=true", "backbone=board_cnn",
                                  "backbone_kwargs={channels: [16, 16], features_dim: 64}"])
    train(cfg, run)
    return run


def test_tictactoe_actions_are_row_major_cells_of_the_observation() -> None:
    env = tictactoe_v3.env()
    env.reset(seed=0)
    env.step(5)  # the first player marks cell 5
    board = env.observe(env.agents[1])["observation"]  # (3, 3, 2), the second player's view: plane 1 = opponent
    assert np.flatnonzero(board[..., 1].reshape(-1)).tolist() == [5]


def test_a_short_symmetric_run_with_the_board_cnn_beats_random(symmetric_run: Path) -> None:
    games = json.loads((symmetric_run / "eval.json").read_text())["games"]["random"]
    for seat in ("seat_0", "seat_1"):
        assert games[seat]["games"] == 60 and games[seat]["win"] > 0.5, (seat, games[seat])


def test_the_loaded_policy_rotates_with_the_board_and_respects_the_mask(symmetric_run: Path) -> None:
    agent = load_agent(str(symmetric_run))
    policy = agent.model.policy
    assert isinstance(policy, SymmetricMaskablePolicy) and isinstance(policy.features_extractor, BoardCnn)
    rng = np.random.default_rng(0)
    boards = np.zeros((6, 3, 3, 2), np.float32)
    for b in range(6):  # random legal positions
        cells = rng.permutation(9)[: b + 1]
        boards[b].reshape(9, 2)[cells[::2], 0] = 1
        boards[b].reshape(9, 2)[cells[1::2], 1] = 1
    obs = torch.as_tensor(boards)
    with torch.no_grad():
        logits = policy.get_distribution(obs).distribution.logits  # (B, 9), log-probabilities
        values = policy.predict_values(obs)
        turned = torch.as_tensor(np.ascontiguousarray(np.rot90(boards, 1, axes=(1, 2))))
        turned_logits = policy.get_distribution(turned).distribution.logits
        torch.testing.assert_close(policy.predict_values(turned), values, atol=1e-5, rtol=0)
    cells = np.arange(9).reshape(3, 3)
    back = torch.as_tensor(np.rot90(cells, 1).reshape(-1))  # cell i of the turned board is cell back[i]
    torch.testing.assert_close(turned_logits, logits[:, back], atol=1e-5, rtol=0)

    mask = boards.sum(-1).reshape(6, 9) == 0  # (B, A): the empty cells
    for _ in range(20):
        actions, _ = agent.model.predict(boards, action_masks=mask, deterministic=False)
        assert mask[np.arange(6), actions].all()
    with torch.no_grad():
        probs = policy.get_distribution(obs, action_masks=mask).distribution.probs
    assert (probs[torch.as_tensor(~mask)] < 1e-6).all()


def test_the_zip_is_a_plain_maskableppo_and_round_trips(symmetric_run: Path, tmp_path: Path) -> None:
    agent = load_agent(str(symmetric_run))
    plain = MaskablePPO.load(symmetric_run / "model.zip", device="cpu")  # sb3-contrib's own loader
    assert type(plain.policy) is SymmetricMaskablePolicy
    ours, theirs = agent.model.policy.state_dict(), plain.policy.state_dict()
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    plain.save(tmp_path / "again.zip")
    again = MaskablePPO.load(tmp_path / "again.zip", device="cpu")
    obs = np.zeros((1, 3, 3, 2), np.float32)
    assert again.predict(obs, deterministic=True)[0] == plain.predict(obs, deterministic=True)[0]


def test_connect_four_flips_its_columns() -> None:
    venv_space = __import__("gymnasium").spaces
    policy = SymmetricMaskablePolicy(venv_space.Box(0, 1, (6, 7, 2), np.float32), venv_space.Discrete(7),
                                     lambda _: 3e-4)
    board = torch.zeros(1, 6, 7, 2)
    board[0, 5, 1, 0] = board[0, 5, 2, 1] = board[0, 4, 1, 0] = 1
    with torch.no_grad():
        logits = policy.get_distribution(board).distribution.logits
        flipped = policy.get_distribution(board.flip(2)).distribution.logits
    torch.testing.assert_close(flipped, logits.flip(1), atol=1e-6, rtol=0)


@pytest.mark.parametrize("env,extra,words", [
    ("pettingzoo.classic.go_v5", ["env_kwargs={board_size: 5}", "selfplay={scripted: 0}"], "26 actions"),
    (TTT, ["policy=CnnPolicy"], "policy=CnnPolicy"),
])
def test_symmetric_is_refused_where_actions_do_not_follow_the_board(env: str, extra: list[str], words: str,
                                                                     tmp_path: Path) -> None:
    cfg = build_config({"algo": "selfplay", "env": env, "timesteps": 64}, overrides=["symmetric=true", *extra])
    with pytest.raises(UserError, match=words):
        train(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("value", ["maybe", "2", "[true]"])
def test_symmetric_must_be_a_bool(value: str) -> None:
    with pytest.raises(UserError, match="symmetric"):
        build_config({"algo": "selfplay", "env": TTT}, overrides=[f"symmetric={value}"])


def test_symmetric_refuses_a_normaliser() -> None:
    with pytest.raises(UserError, match="normalize"):
        build_config({"algo": "selfplay", "env": TTT}, overrides=["symmetric=true", "normalize=true"])
    assert build_config({"algo": "selfplay", "env": TTT}).hyperparams["symmetric"] is True  # tic-tac-toe's default
    with pytest.raises(UserError) as refused:  # so the fix names the way out of the default too
        build_config({"algo": "selfplay", "env": TTT}, overrides=["normalize=true"])
    assert "symmetric=false" in str(refused.value.hint)
    assert build_config({"algo": "selfplay", "env": TTT}, overrides=["normalize=true", "symmetric=false"])


def test_symmetric_configures_selfplay_only() -> None:
    with pytest.raises(UserError, match="symmetric"):
        build_config({"algo": "ppo", "env": "CartPole-v1"}, overrides=["symmetric=true"])


@pytest.mark.parametrize("env,shape", [(TTT, (3, 3, 2)), (C4, (6, 7, 2))])
def test_the_board_cnn_takes_the_games_boards(env: str, shape: tuple[int, int, int]) -> None:
    space = spaces.Box(0, 1, shape, np.float32)
    cnn = BoardCnn(space)
    assert cnn(torch.zeros(4, *shape)).shape == (4, 128)
    with pytest.raises(UserError, match="board observation"):
        BoardCnn(spaces.Box(0, 1, (18,), np.float32))
    with pytest.raises(UserError, match="channels"):
        BoardCnn(space, channels=[])


@pytest.mark.parametrize("argv,message", [
    (["--env", "pettingzoo.classic.go_v5", "--hyperparams", "symmetric=true", "env_kwargs={board_size: 5}",
      "selfplay={scripted: 0}"], "neither 25 cells nor 5 columns"),
    (["--env", TTT, "--hyperparams", "backbone=board_cnn", "backbone_kwargs={channels: []}"], "board_cnn's channels"),
    (["--env", "pettingzoo.classic.go_v5", "--hyperparams", "multiagent={tactics: true}", "selfplay={scripted: 0}"],
     "gymsuite has none for pettingzoo.classic.go_v5"),
])
def test_the_train_command_refuses_with_exit_2_and_writes_nothing(in_tmp: Path, capsys: pytest.CaptureFixture[str],
                                                                   argv: list[str], message: str) -> None:
    assert _cli.run(train_command.main, ["--algo", "selfplay", *argv, "--run-dir", "r"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and not Path("r").exists()
