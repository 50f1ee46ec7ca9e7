"""The many-runs benchmark: its tables from known results (walls, compare rows), read back as numbers."""

from __future__ import annotations

import pytest

from benchmarks import sweeps as bench
from benchmarks.benchlib import numbers, read_tables


def test_tuning_table_holds_each_configs_statistics() -> None:
    rows = {"tuned": {"finished": 5, "iqm": 120.0, "iqm_low": 100.5, "iqm_high": 150.25, "mean": 110.0,
                      "min": 20.0, "max": 200.0},
            "defaults": {"finished": 5, "iqm": -150.0, "iqm_low": -180.0, "iqm_high": -120.0, "mean": -151.0,
                         "min": -300.0, "max": -90.0}}
    [(header, cells)] = read_tables(bench.tuning_table({"rows": rows}))
    assert header == ["config", "seeds", "IQM [95% CI]", "mean", "min", "max"]
    assert [c[0] for c in cells] == ["tuned", "defaults"]
    assert numbers(cells[0][2]) == [120.0, 100.5, 150.2] and numbers(cells[1][5]) == [-90.0]


def test_parallel_tables_give_rates_speed_ups_and_overhead() -> None:
    walls = {"1 local job": 100.0, "2 local jobs": [50.0, 52.0], "2 jobs on a local Ray": [55.0, 54.0]}
    text = bench.parallel_tables({"runs": 6, "walls": walls, "trials": 8, "trial_walls": {1: 80.0, 2: 40.0},
                                  "pruned": {1: 0, 2: 1}, "ray_start_stop": 4.0})
    (sweep_h, sweep), (study_h, study) = read_tables(text)
    assert sweep_h == ["how", "runs", "wall s", "runs/hour", "vs 1 job", "vs the local pool"]
    by = {r[0]: r for r in sweep}
    assert numbers(by["1 local job"][3]) == [216.0] and numbers(by["2 local jobs, run 1"][4]) == [2.0]
    assert numbers(by["2 jobs on a local Ray, run 1"][5]) == pytest.approx([10.0])  # 55 s against the pool's 50 s
    assert numbers(by["2 jobs on a local Ray, run 2"][5]) == pytest.approx([3.8])  # against that run's pool, 52 s
    less = by["2 jobs on a local Ray, run 1, less its start and stop (4.0 s)"]
    assert numbers(less[2]) == [51.0] and numbers(less[5]) == pytest.approx([2.0])
    assert "run by run: +10.0%, +3.8% (target: at most 10% in every run: met)" in text
    assert [numbers(r[4])[0] for r in study] == [360.0, 720.0] and numbers(study[1][5]) == [2.0]
    assert study_h == ["jobs", "trials", "of them pruned", "wall s", "trials/hour", "speed-up"] and study[1][2] == "1"
    assert "2 jobs: 2.00x one job's (target >= 1.7x: met)" in text


def test_one_repeat_keeps_the_plain_row_names() -> None:
    walls = {"1 local job": 100.0, "2 local jobs": [50.0], "2 jobs on a local Ray": [61.0]}
    text = bench.parallel_tables({"runs": 6, "walls": walls, "trials": 8, "trial_walls": {1: 80.0, 2: 50.0},
                                  "pruned": {1: 0, 2: 0}, "ray_start_stop": 4.0})
    rows = {r[0] for r in read_tables(text)[0][1]}
    assert {"2 local jobs", "2 jobs on a local Ray"} <= rows
    assert "+22.0% (target: at most 10% in every run: not met)" in text and "1.60x one job's" in text
    assert "not met)." in text.splitlines()[-1]
