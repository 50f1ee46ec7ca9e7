"""The policy-gradient benchmark: its quick mode end to end, its tables' numbers, its section and plot."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks import pg as bench
from benchmarks.benchlib import numbers, read_tables

ALGO_COLUMNS = ["algorithm", "A_t", "reached", "median steps to threshold",
                "final return (last 10 ep., mean ± std over seeds)", "env steps/s (median)"]


def test_quick_mode_trains_every_run_through_the_pipeline(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--quick", "--envs", "CartPole-v1", "--algos", "0", "4", "a2c", "--workers", "1"]) == 0
    (header, rows), (pair_header, pairs) = read_tables(capsys.readouterr().out)
    assert header == ALGO_COLUMNS and [r[0] for r in rows] == ["pg v0", "pg v4", "SB3 A2C"]
    for row in rows:
        reached, runs = numbers(row[2])
        assert runs == 1 and reached in (0, 1)
        assert row[3] == "not reached" or numbers(row[3])[0] <= bench.QUICK_STEPS["CartPole-v1"]
        final, spread = numbers(row[4])
        assert 8 <= final <= 500 and spread == 0  # CartPole returns; one seed
        assert numbers(row[5])[0] > 0
    # Version 4 and A2C compute the same update (tests/agents/test_pg_algorithm.py): with the same seed,
    # settings and pipeline, their first few updates, hence their training episodes, coincide.
    assert rows[1][4] == rows[2][4]
    assert len(pair_header) == 7 and len(pairs) == 1
    env, seeds, reached, *_, fps_ratio = pairs[0]
    assert (env, seeds) == ("CartPole-v1", "2") and len(numbers(reached)) == 2 and numbers(fps_ratio)[0] > 0


def result(algo: str, seed: int, reached: int | None, final: float, fps: float) -> bench.Result:
    return bench.Result(bench.Job(algo, "CartPole-v1", seed, 10_000), reached, final, fps,
                        [(1_000, 20.0), (10_000, final)])


def test_tables_summarise_seeds() -> None:
    results = [result("4", 0, 1_000, 500.0, 200.0), result("4", 1, 3_000, 480.0, 220.0),
               result("a2c", 0, 2_000, 490.0, 100.0), result("a2c", 1, 4_000, 470.0, 110.0),
               result("0", 0, None, 20.0, 300.0), result("0", 1, None, 24.0, 310.0)]
    text = bench.markdown(results, ["CartPole-v1"], ["0", "4", "a2c"], 2, {"CartPole-v1": 10_000}, 60.0, "pg.png")
    (header, rows), (_, pairs) = read_tables(text)
    cells = {row[0]: row for row in rows}
    assert header == ALGO_COLUMNS and list(cells) == ["pg v0", "pg v4", "SB3 A2C"]
    assert numbers(cells["pg v4"][2]) == [2, 2] and numbers(cells["pg v4"][3]) == [2_000]  # median of 1,000 and 3,000
    assert numbers(cells["pg v0"][2]) == [0, 2] and cells["pg v0"][3] == "not reached"
    assert numbers(cells["pg v4"][4]) == [490.0, 10.0] and numbers(cells["SB3 A2C"][5]) == [105]
    _, _, _, v4_steps, a2c_steps, steps_ratio, fps_ratio = pairs[0]
    assert numbers(v4_steps) == [2_000] and numbers(a2c_steps) == [3_000]
    assert numbers(steps_ratio) == [0.67] and numbers(fps_ratio) == [2.0]  # paired: 200/100 and 220/110
    assert "(pg.png)" in text


def test_full_mode_writes_its_section_plot_and_raw_results(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the plots need the bench extra")
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# bench\n\n<!-- BEGIN other -->\nkept\n<!-- END other -->\n")
    assert bench.main(["--seeds", "1", "--timesteps", "1500", "--envs", "CartPole-v1", "--algos", "0", "4", "a2c",
                       "--pair-seeds", "2", "--workers", "1", "--benchmarks", str(out),
                       "--plot", str(tmp_path / "pg.png"), "--raw", str(tmp_path / "raw.json")]) == 0
    text = out.read_text()
    assert "<!-- BEGIN other -->\nkept\n<!-- END other -->" in text and text.count("<!-- BEGIN pg -->") == 1
    assert [len(rows) for _, rows in read_tables(text)] == [3, 1]
    raw = json.loads((tmp_path / "raw.json").read_text())
    assert sorted((r["job"]["algo"], r["job"]["seed"]) for r in raw) == [("0", 0), ("4", 0), ("4", 1), ("a2c", 0),
                                                                          ("a2c", 1)]
    assert all(r["fps"] > 0 and not math.isnan(r["final_return"]) for r in raw)
    assert (tmp_path / "pg.png").stat().st_size > 1000


def test_a2c_gets_the_pg_settings_not_its_own_defaults() -> None:
    pg = bench.run_config(bench.Job("4", "Acrobot-v1", 3, 1_000))
    a2c = bench.run_config(bench.Job("a2c", "Acrobot-v1", 3, 1_000))
    assert (pg.algo, a2c.algo) == ("pg", "a2c") and pg.n_envs == a2c.n_envs == 8  # a2c.yml says 16 on Acrobot
    assert a2c.hyperparams["normalize"] is False and a2c.hyperparams["use_rms_prop"] is False  # a2c.yml: normalize
    shared = set(a2c.hyperparams) - {"normalize", "use_rms_prop"}
    assert {k: a2c.hyperparams[k] for k in shared} == {k: pg.hyperparams[k] for k in shared}
    assert shared | {"version"} == set(pg.hyperparams) and pg.hyperparams["version"] == "4"
