"""The statistics over seeds (common/stats.py) on hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from gymsuite.common.stats import iqm, iqm_ci, performance_profile, steps_to_threshold, summary


def test_iqm_is_the_mean_of_the_middle_half() -> None:
    assert iqm([1, 2, 3, 4]) == pytest.approx(2.5)  # drops 1 and 4
    assert iqm([100, 1, 2, 3, 4, 5, 6, 7]) == pytest.approx(4.5)  # drops 1, 2 and 7, 100: mean(3, 4, 5, 6)
    assert iqm([0.0, 10.0, 10.0, 10.0, 1e9]) == pytest.approx(10.0)  # 5 seeds: one cut from each end


def test_bootstrap_interval_brackets_the_iqm_and_is_reproducible() -> None:
    x = [3.0, 5.0, 6.0, 7.0, 20.0]
    low, high = iqm_ci(x)
    assert 3.0 <= low <= iqm(x) <= high <= 20.0 and high > low
    assert iqm_ci(x) == (low, high)  # seeded
    assert iqm_ci([4.0, 4.0, 4.0]) == (4.0, 4.0) and iqm_ci([7.0]) == (7.0, 7.0)
    assert summary([1, 2, 3, 4]).startswith("2 [") and summary([1000.0]) == "1,000 [1,000, 1,000]"


def test_steps_to_threshold_uses_the_moving_mean_and_flags_failures() -> None:
    steps = [10, 20, 30, 40, 50, 60]
    seconds = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    returns = [0, 100, 0, 100, 100, 100]
    # window 2: means 50, 50, 50, 100, 100 -> first >= 100 is the mean of episodes 3 and 4, at 50 steps
    hit = steps_to_threshold(steps, seconds, returns, 100, budget=99, budget_seconds=9, window=2)
    assert (hit.steps, hit.seconds, hit.reached) == (50.0, 5.0, True)
    # one early episode of 100 does not count with window 2; a window longer than the curve never crosses
    assert steps_to_threshold(steps, seconds, returns, 75, 99, 9, window=2).steps == 50.0
    miss = steps_to_threshold(steps, seconds, returns, 100, 99, 9, window=10)
    assert (miss.steps, miss.seconds, miss.reached) == (99.0, 9.0, False)
    with pytest.raises(ValueError, match="same length"):
        steps_to_threshold(steps, seconds[:2], returns, 1, 1, 1)
    assert np.isfinite(iqm([miss.steps, hit.steps]))


def test_a_performance_profile_counts_the_runs_above_each_threshold() -> None:
    taus = np.array([0.0, 1.5, 2.5, 10.0])
    one = performance_profile([[1.0, 2.0, 3.0, 4.0]], taus)
    assert np.allclose(one.fraction, [1.0, 0.75, 0.5, 0.0])
    assert np.all(one.low <= one.fraction) and np.all(one.fraction <= one.high)
    assert one.low[0] == one.high[0] == 1.0 and one.low[-1] == one.high[-1] == 0.0  # no spread at the ends
    # Two tasks weigh the same whatever their number of runs: (1/2 + 3/4) / 2 above 1.5.
    two = performance_profile([[1.0, 2.0], [1.0, 2.0, 3.0, 4.0]], taus)
    assert np.isclose(two.fraction[1], (0.5 + 0.75) / 2)
