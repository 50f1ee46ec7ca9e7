"""The multi-agent benchmark: its tables from fake results (known tallies, returns, speeds), the tutorial recipe's
view of a game, and the speed job on the real bridges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("scipy", reason="the statistics need the bench extra")

from benchmarks import multiagent as bench  # noqa: E402
from benchmarks.benchlib import numbers, read_tables  # noqa: E402

GAME_COLUMNS = ["variant", "opponent", "learner's seat", "win rate", "draw rate", "loss rate",
                "losses / games (all seeds)", "training steps", "training seconds"]


def tally(win: int, draw: int, loss: int) -> dict[str, float]:
    games = win + draw + loss
    return {"win": win / games, "draw": draw / games, "loss": loss / games, "games": games}


def fake_run(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    out = []
    for job in jobs:
        g, seed = job.get("games", 0), job["seed"]
        result: dict[str, Any] = {**job, "fps": 1000.0, "seconds": 10.0 * (seed + 1), "steps": 10_000 * (seed + 1),
                                  "final_return": 0.0, "elo": [[1000, 10.0], [2000, 50.0 + seed]]}
        if job["kind"] == "speed":
            result["speed"] = {"gymsuite": 6000.0, "supersuit": 4000.0}
        elif job["variant"].startswith("tictactoe"):
            # seed 1 loses one game to minimax from seat 1
            result["games"] = {"minimax": {"seat_0": tally(0, g, 0), "seat_1": tally(0, g - seed % 2, seed % 2)},
                               "random": {"seat_0": tally(g - 10, 10, 0), "seat_1": tally(g - 40, 30, 10)}}
        elif "connect_four" in job["variant"]:
            wins = g if job["kind"] == "train" else int(0.8 * g)
            result["games"] = {"random": {"seat_0": tally(wins, 0, g - wins), "seat_1": tally(wins, 0, g - wins)}}
        else:
            result["final_return"] = {"spread ppo": -30.0, "spread mappo": -25.0, "spread random": -60.0}[
                job["variant"]] + seed
        out.append(result)
    return out


def test_tables_from_fake_results(tmp_path: Path) -> None:
    out, plot = tmp_path / "B.md", tmp_path / "ma.png"
    text = bench.main(["--seeds", "3", "--board-seeds", "3", "--games", "100", "--benchmarks", str(out), "--plot",
                       str(plot), "--variants"], run=fake_run)
    tables = read_tables(text)
    assert [h for h, _ in tables[:2]] == [GAME_COLUMNS, GAME_COLUMNS]
    ttt = {(r[1], r[2]): r for r in tables[0][1]}
    assert set(ttt) == {("minimax", "seat 0"), ("minimax", "seat 1"), ("random", "seat 0"), ("random", "seat 1")}
    assert numbers(ttt[("minimax", "seat 0")][5])[0] == 0.0 and ttt[("minimax", "seat 0")][6] == "0 / 300"
    assert ttt[("minimax", "seat 1")][6] == "1 / 300"  # summed over seeds: seed 1 lost one game
    assert numbers(ttt[("random", "seat 0")][3])[0] == 0.9 and numbers(ttt[("random", "seat 1")][3])[0] == 0.6
    assert numbers(ttt[("random", "seat 0")][7])[0] == 20_000  # the IQM of 10k, 20k, 30k training steps
    c4 = {r[0]: r for r in tables[1][1]}
    assert numbers(c4["connect_four"][3])[0] == 1.0 and numbers(c4["connect_four tutorial"][3])[0] == 0.8
    spread_h, spread = tables[2]
    assert spread_h[0] == "policy" and [numbers(r[1])[0] for r in spread] == [-29.0, -24.0, -59.0]
    assert "- MAPPO against IPPO: above, the intervals apart." in text  # -25..-23 against -30..-28
    assert "- IPPO (--algo ppo) against the random policy: above, the intervals apart." in text
    speed_h, speed = tables[3]
    assert speed[0][2] == "1.50x" and numbers(speed[1][1])[0] == 4000
    assert plot.stat().st_size > 0 and "<!-- BEGIN multiagent -->" in out.read_text()


def test_the_board_variants_add_rows_and_their_own_targets(tmp_path: Path) -> None:
    jobs = bench.make_jobs(["tictactoe", "connect_four"], {**bench.FULL, "games": 100, "board_seeds": 4}, [0, 1],
                           tmp_path, ("tictactoe plain", "connect_four board_cnn"))
    seeds: dict[str, list[int]] = {}
    for job in jobs:
        seeds.setdefault(job["variant"], []).append(job["seed"])
    assert seeds == {"tictactoe": [0, 1, 2, 3], "tictactoe plain": [0, 1], "connect_four": [0, 1],
                     "connect_four board_cnn": [0, 1], "connect_four tutorial": [0, 1]}
    by = {j["variant"]: j for j in jobs}
    assert by["tictactoe plain"]["hyperparams"] == {"symmetric": False} and by["tictactoe plain"]["steps"] == 600_000
    assert by["tictactoe"]["hyperparams"] == {} and by["tictactoe"]["steps"] == 0  # the shipped defaults
    assert by["connect_four board_cnn"]["hyperparams"] == {"backbone": "board_cnn"}
    assert len({j["run_dir"] for j in jobs}) == len(jobs)
    text = bench.main(["--seeds", "2", "--board-seeds", "3", "--games", "100", "--no-write", "--sections", "tictactoe",
                       "connect_four", "--variants", "tictactoe plain", "connect_four board_cnn symmetric"],
                      run=fake_run)
    ttt = read_tables(text)[0][1]
    shipped = [r for r in ttt if r[0] == "tictactoe"]  # on --board-seeds 3
    assert len(shipped) == 4 and {r[6] for r in shipped if r[1] == "minimax"} == {"0 / 300", "1 / 300"}
    assert "tictactoe plain:\n- Zero losses against minimax from both seats: not met (1 losses in 400" in text
    assert "connect_four board_cnn symmetric:\n- Win rate of at least 0.95" in text


def test_targets_report_what_the_tallies_say() -> None:
    rs = fake_run(bench.make_jobs(["tictactoe"], {**bench.FULL, "games": 100, "board_seeds": 2}, [0, 1],
                                  Path("/tmp/x")), 1)
    lines = bench.targets_games(rs, "tictactoe", "minimax", "random")
    assert "not met (1 losses in 400" in lines[0] and "not met (lowest seed and seat: 0.600)" in lines[1]
    perfect = fake_run(bench.make_jobs(["tictactoe"], {**bench.FULL, "games": 100, "board_seeds": 1}, [0],
                                       Path("/tmp/x")), 1)
    assert "met (0 losses" in bench.targets_games(perfect, "tictactoe", "minimax", "random")[0]


def test_the_recipe_gives_each_move_to_the_mover_and_shows_the_next_seat() -> None:
    env = bench_recipe_env()
    obs, _ = env.reset(seed=0)
    assert obs.shape == (6, 7, 2) and obs.sum() == 0
    obs, reward, terminated, truncated, _ = env.step(3)  # seat 0 drops in column 3
    # the next observation is seat 1's: seat 0's piece is the *opponent's* plane there
    assert obs[..., 1].sum() == 1 and obs[..., 0].sum() == 0 and reward == 0.0 and not terminated
    assert env.action_mask().tolist() == [True] * 7
    # seat 0 wins in column 3: the winning move gets +1; the loser's -1 is never handed to its own move
    for col in (0, 3, 0, 3, 0, 3):
        obs, reward, terminated, truncated, _ = env.step(col)
    assert terminated and reward == 1.0


def bench_recipe_env() -> Any:
    from benchmarks.tutorial_recipe import RecipeEnv

    return RecipeEnv(bench.CONNECT_FOUR)


def test_speed_job_measures_both_bridges() -> None:
    result = bench.speed_job({"env": bench.SPREAD, "seed": 0, "speed_seconds": 0.2})
    assert result["speed"]["gymsuite"] > 0 and result["speed"]["supersuit"] > 0
    assert np.isfinite(list(result["speed"].values())).all()


def test_the_tictactoe_ceilings_are_exact() -> None:
    # a perfect first mover never loses and wins 0.995 against random; the second mover cannot reach 0.95
    assert bench.tictactoe_ceiling(0) == pytest.approx(0.9948, abs=1e-4)
    assert bench.tictactoe_ceiling(0, never_losing=True) == pytest.approx(0.9948, abs=1e-4)
    assert bench.tictactoe_ceiling(1) == pytest.approx(0.9386, abs=1e-4)
    assert bench.tictactoe_ceiling(1, never_losing=True) == pytest.approx(0.9164, abs=1e-4)


def test_a_run_of_some_sections_replaces_those_alone(tmp_path: Path) -> None:
    out, plot = tmp_path / "B.md", tmp_path / "ma.png"
    bench.main(["--seeds", "2", "--board-seeds", "2", "--games", "100", "--benchmarks", str(out), "--plot", str(plot),
                "--variants"], run=fake_run)
    whole = out.read_text()
    for name in bench.SECTIONS:
        assert whole.count(f"<!-- BEGIN multiagent-{name} -->") == 1 and f"<!-- END multiagent-{name} -->" in whole
    out.write_text(whole.replace("IPPO (--algo ppo)", "IPPO (an earlier run)"))
    text = bench.main(["--seeds", "3", "--games", "100", "--benchmarks", str(out), "--plot", str(plot),
                       "--sections", "connect_four", "--variants", "connect_four plain"], run=fake_run)
    after = out.read_text()
    assert "IPPO (an earlier run)" in after and "## Many agents" in after  # the other subsections stay
    assert after.count("<!-- BEGIN multiagent-connect_four -->") == 1 and "<!-- BEGIN multiagent -->" in after
    c4 = after[after.index("<!-- BEGIN multiagent-connect_four -->"):after.index("<!-- END multiagent-connect_four")]
    assert "(`--sections connect_four`)" in c4 and "3 seeds per row" in c4 and "*connect_four plain*:" in c4
    assert "## Many agents" not in text
