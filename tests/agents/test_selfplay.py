"""selfplay: Elo maths, the opponent pool's files, a short run that beats random from both seats, config errors."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from sb3_contrib import MaskablePPO

from gymsuite.agents.multiagent import elo
from gymsuite.agents.multiagent.selfplay import OpponentPool, options, play, policy_opponent
from gymsuite.agents.run.config import build_config
from gymsuite.agents.run.training import train
from gymsuite.agents.saved.boardgame import agent_player
from gymsuite.agents.saved.evaluation import evaluate
from gymsuite.agents.saved.loading import load_agent, make_agent_env
from gymsuite.common.errors import UserError
from gymsuite.envs.multiagent.games import opponent

TTT = "pettingzoo.classic.tictactoe_v3"


def test_elo_expected_score_and_update() -> None:
    assert elo.expected(1000, 1000) == 0.5
    assert elo.expected(1400, 1000) == pytest.approx(10 / 11)
    assert elo.expected(1000, 1400) == pytest.approx(1 / 11)
    winner, loser = elo.update(1000, 1000, 1.0, k=32)
    assert (winner, loser) == (1016, 984)
    upset = elo.update(1000, 1400, 1.0, k=32)
    assert upset[0] - 1000 == pytest.approx(32 * 10 / 11) and sum(upset) == pytest.approx(2400)


def test_performance_rating_solves_expected_equals_actual() -> None:
    assert elo.performance([1000], [10], [20]) == pytest.approx(1000, abs=0.01)
    rating = elo.performance([1000, 1200], [15, 8], [20, 20])
    expected_total = 20 * elo.expected(rating, 1000) + 20 * elo.expected(rating, 1200)
    assert expected_total == pytest.approx(23, abs=1e-3)
    ratings = [elo.performance([1000], [s], [20]) for s in (2, 10, 18, 20)]
    assert ratings == sorted(ratings) and ratings[0] < 1000 < ratings[2] < ratings[3] < 2000  # a sweep stays finite


@pytest.fixture(scope="module")
def selfplay_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "selfplay-ttt"
    cfg = build_config({"algo": "selfplay", "env": TTT, "timesteps": 16384, "eval_episodes": 60, "seed": 1},
                       overrides=["n_epochs=4", "selfplay={snapshot_freq: 8000, elo_games: 10, latest: 0.3, past: 0, "
                                  "random: 0.5, scripted: 0.2, minimax: 0}"])
    train(cfg, run)
    return run


def test_a_short_selfplay_run_beats_random_from_both_seats(selfplay_run: Path) -> None:
    import json

    result = json.loads((selfplay_run / "eval.json").read_text())
    games = result["games"]
    assert set(games) == {"random", "scripted", "minimax"}
    for seat in ("seat_0", "seat_1"):
        rates = games["random"][seat]
        assert rates["games"] == 60 and rates["win"] + rates["draw"] + rates["loss"] == pytest.approx(1)
        assert rates["win"] > 0.5 and rates["win"] > rates["loss"], (seat, rates)
    assert result["mean_return"] > 0.3


def test_the_pool_writes_snapshots_that_load_and_rates_them(selfplay_run: Path) -> None:
    files = sorted(int(p.stem) for p in (selfplay_run / "pool").glob("*.pt"))
    assert files[0] == 0 and len(files) >= 3 and all(b - a >= 8000 for a, b in zip(files, files[1:], strict=False))
    weights = torch.load(selfplay_run / "pool" / f"{files[-1]}.pt", weights_only=True)
    assert all(isinstance(t, torch.Tensor) for t in weights.values())
    with (selfplay_run / "elo.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert [int(r["step"]) for r in rows] == files
    assert float(rows[-1]["elo"]) > float(rows[0]["elo"])  # the trained policy rates above the initial one

    agent = load_agent(str(selfplay_run))
    assert isinstance(agent.model, MaskablePPO) and agent.algo == "selfplay"
    pool = OpponentPool(agent.model, selfplay_run / "pool", options({"elo_games": 0}), "tictactoe", None)
    pool.restore(files[-1])
    assert [s for s, _ in pool.snapshots] == files
    loaded = pool.snapshots[-1][1].state_dict()
    assert loaded.keys() == weights.keys() and all(torch.equal(loaded[k], v) for k, v in weights.items())
    plain = MaskablePPO.load(selfplay_run / "model.zip", device="cpu")  # a plain sb3-contrib zip
    assert plain.observation_space.shape == (3, 3, 2)


def test_a_loaded_run_evaluates_with_masks(selfplay_run: Path) -> None:
    agent = load_agent(str(selfplay_run))
    venv = make_agent_env(agent, seed=3, n_envs=2)
    result = evaluate(agent, venv, episodes=10)
    assert result["games"]["minimax"]["seat_0"]["win"] == 0.0  # nobody beats the perfect player
    assert result["games"]["scripted"]["seat_1"]["games"] == 10
    outcomes = play(__import__("pettingzoo.classic.tictactoe_v3", fromlist=["env"]).env,
                    policy_opponent(agent.model.policy, deterministic=True), opponent("random", "tictactoe", 0), 20)
    assert outcomes.shape == (40,) and set(np.unique(outcomes)) <= {-1.0, 0.0, 1.0}


@pytest.mark.parametrize("algo,env,extra,key", [
    ("ppo", TTT, [], "selfplay"),
    ("dqn", "pettingzoo.classic.connect_four_v3", [], "selfplay"),
    ("selfplay", "CartPole-v1", [], "turn-based"),
    ("ppo", "CartPole-v1", ["selfplay={latest: 1}"], "selfplay"),
    ("selfplay", TTT, ["selfplay={lates: 1}"], "lates"),
    ("selfplay", TTT, ["selfplay={latest: -1}"], "latest"),
    ("selfplay", TTT, ["selfplay={latest: 0, past: 0, random: 0, scripted: 0}"], "weight"),
    ("selfplay", "pettingzoo.classic.connect_four_v3", ["selfplay={minimax: 0.5}"], "minimax"),
])
def test_config_errors(algo: str, env: str, extra: list[str], key: str) -> None:
    with pytest.raises(UserError, match=key):
        build_config({"algo": algo, "env": env}, overrides=extra)


def test_a_resumed_pool_rates_a_step_again_without_a_second_row(selfplay_run: Path, tmp_path: Path) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(selfplay_run, run)
    files = sorted(int(p.stem) for p in (run / "pool").glob("*.pt"))
    agent = load_agent(str(run))
    game = __import__("pettingzoo.classic.tictactoe_v3", fromlist=["env"]).env
    pool = OpponentPool(agent.model, run / "pool", options({"elo_games": 2}), "tictactoe", game)
    pool.restore(files[-1])
    pool.snapshot(files[-1])  # a resume from the last checkpoint takes that snapshot again
    with (run / "elo.csv").open() as file:
        steps = [int(r["step"]) for r in csv.DictReader(file)]
    assert steps == files and [s for s, _ in pool.snapshots] == files
    assert not list((run / "pool").glob("*.tmp")) and not list(run.glob(".elo*"))  # atomic writes leave nothing


C4 = "pettingzoo.classic.connect_four_v3"


def test_tactics_train_play_and_evaluate_under_the_one_move_lookahead(tmp_path: Path) -> None:
    """multiagent={tactics: true}: the learner trains on the narrowed moves, its snapshots play under them, and the
    saved agent plays under them wherever gymsuite plays it (a board game's player, the evaluation's games)."""
    cfg = build_config({"algo": "selfplay", "env": C4, "timesteps": 512, "eval_episodes": 20, "seed": 0},
                       overrides=["n_steps=32", "n_envs=4", "multiagent={tactics: true}",
                                  "selfplay={snapshot_freq: 256, elo_games: 2, latest: 0.5, random: 0.5, past: 0, "
                                  "scripted: 0}"])
    assert cfg.hyperparams["multiagent"] == {"tactics": True}
    seen: list[object] = []
    original = OpponentPool.__init__

    def spy(self: OpponentPool, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        seen.append(self.mask_rule)

    OpponentPool.__init__ = spy  # type: ignore[method-assign]
    try:
        train(cfg, tmp_path / "run")
    finally:
        OpponentPool.__init__ = original  # type: ignore[method-assign]
    assert len(seen) == 1 and seen[0] is not None
    agent = load_agent(str(tmp_path / "run"))
    player = agent_player(agent, C4)
    obs = np.zeros((6, 7, 2), np.float32)
    obs[5, 0:3, 1] = 1  # the opponent threatens column 3
    obs[4, 0:2, 0] = 1
    assert player(obs, np.ones(7, bool)) == 3  # an untrained policy blocks: the lookahead leaves it no other move
    obs[3:6, 6, 0], obs[4, 0:2, 0] = 1, 0  # and we can win in column 6
    assert player(obs, np.ones(7, bool)) == 6
    venv = make_agent_env(agent, n_envs=2)
    venv.reset()
    assert venv.get_attr("mask_rule", [0])[0] is not None
