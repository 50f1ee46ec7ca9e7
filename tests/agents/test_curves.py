"""Learning curves: read from a run's CSV segments, aggregated over seeds with the IQM on a common grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gymsuite.agents.sweeps.curves import RETURN, STEPS, Curve, aggregate, read_curve


def write_log(path: Path, rows: list[tuple[int, float | str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"time/fps,{STEPS},{RETURN}\n" + "".join(f"100,{s},{r}\n" for s, r in rows))


def test_a_resumed_run_reads_both_segments_in_step_order(tmp_path: Path) -> None:
    write_log(tmp_path / "logs" / "progress_until_200.csv", [(100, 1.0), (200, 2.0)])
    write_log(tmp_path / "logs" / "progress.csv", [(300, 3.0), (400, ""), (500, 5.0)])  # a row with no episode yet
    curve = read_curve(tmp_path)
    assert curve.steps.tolist() == [100, 200, 300, 500] and curve.returns.tolist() == [1.0, 2.0, 3.0, 5.0]
    assert len(read_curve(tmp_path / "nothing").steps) == 0


def test_the_band_is_the_iqm_over_seeds_up_to_the_shortest_run() -> None:
    # five seeds whose returns grow linearly at slopes 1..5 (per 100 steps); one seed stops at 800 steps
    curves = [Curve(np.arange(0, 1001, 100), np.arange(0, 1001, 100) / 100 * k) for k in (1, 2, 3, 4)]
    curves.append(Curve(np.arange(0, 801, 100), np.arange(0, 801, 100) / 100 * 5))
    band = aggregate(curves, points=5)
    assert band.steps.tolist() == [0.0, 200.0, 400.0, 600.0, 800.0]
    # at 800 steps the values are 8, 16, 24, 32, 40: the middle half is 16, 24, 32
    assert band.iqm[-1] == pytest.approx(24.0) and band.low[-1] <= 24.0 <= band.high[-1]
    assert band.iqm[0] == 0.0
    with pytest.raises(ValueError):
        aggregate([Curve(np.array([], dtype=np.int64), np.array([]))])
