"""The many-runs benchmark: its tables from known results (walls, compare rows), read back as numbers."""

from __future__ import annotations

import argparse

import pytest

from benchmarks import sweeps as bench
from benchmarks.benchlib import numbers, read_tables


def test_tuning_text_puts_each_tuned_config_beside_its_study_s_value() -> None:
    def stats(iqm: float) -> dict[str, float]:
        return {"finished": 5, "iqm": iqm, "iqm_low": iqm - 20.5, "iqm_high": iqm + 30.25, "mean": iqm - 1.0,
                "min": iqm - 100.0, "max": iqm + 80.0}

    rows = {bench.tuned_name(1): {**stats(-40.0), "tuning_value": 240.0},
            bench.tuned_name(3): {**stats(60.0), "tuning_value": 100.0},
            bench.DEFAULTS_ROW: stats(0.0), bench.ZOO_ROW: stats(-150.0)}
    studies = {k: {"tune_seconds": 900.0, "complete": 10 * k, "pruned": 5, "failed": 0, "best_number": 7,
                   "best_value": rows[bench.tuned_name(k)]["tuning_value"], "best_params": {"learning_rate": 0.001}}
               for k in bench.SEEDS_PER_TRIAL}
    text = bench.tuning_text({"studies": studies, "rows": rows}, argparse.Namespace(workers=2, seeds=5))
    [(header, cells)] = read_tables(text)
    assert header == ["config", "value in its study", "fresh seeds", "IQM [95% CI]", "mean", "min", "max",
                      "study's value minus fresh IQM"]
    assert [c[0] for c in cells] == [bench.tuned_name(1), bench.tuned_name(3), bench.DEFAULTS_ROW, bench.ZOO_ROW]
    assert numbers(cells[0][3]) == [-40.0, -60.5, -9.8] and numbers(cells[0][7]) == [280.0]  # 240 - (-40)
    assert numbers(cells[1][7]) == [40.0] and cells[2][1] == cells[2][7] == ""  # untuned: no study value
    assert "`gymsuite tune --seeds-per-trial 1` (seed 0), 15.0 min" in text and "(seeds 0-2)" in text
    assert "fresh-seed IQM: +40.0 with 3 seeds per trial, +280.0 with 1: closer with more seeds" in text
    assert f"wholly above that of {bench.DEFAULTS_ROW}: 3 seeds per trial." in text  # 60 - 20.5 > 0 + 30.25
    assert f"wholly above that of {bench.ZOO_ROW}: 1 seed per trial and 3 seeds per trial." in text


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
