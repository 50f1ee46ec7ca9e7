"""Learning curves of runs: read from their logs, and aggregated over seeds on one grid of env steps.

A run's curve is its ``logs/progress*.csv`` (SB3's CSV logger; a resumed run keeps the earlier segment as
``progress_until_<steps>.csv``): the mean return of the last episodes (``rollout/ep_rew_mean``) against
``time/total_timesteps``. Shapes: T points of one curve; S seeds; G points of the common grid.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gymsuite.common.stats import iqm, iqm_ci

STEPS = "time/total_timesteps"
RETURN = "rollout/ep_rew_mean"


@dataclass(frozen=True)
class Curve:
    """``steps`` (T,) and ``returns`` (T,) of one run, in step order."""

    steps: np.ndarray
    returns: np.ndarray


def read_curve(run: Path, column: str = RETURN) -> Curve:
    """The run's ``column`` against env steps, from every ``logs/progress*.csv`` segment (empty when none logged)."""
    points: dict[int, float] = {}
    for file in sorted((run / "logs").glob("progress*.csv")):
        with file.open(newline="") as f:
            for row in csv.DictReader(f):
                step, value = row.get(STEPS, ""), row.get(column, "")
                if step and value and math.isfinite(float(value)):
                    points[int(float(step))] = float(value)
    steps = np.array(sorted(points), dtype=np.int64)
    return Curve(steps, np.array([points[s] for s in steps], dtype=np.float64))


@dataclass(frozen=True)
class Band:
    """Curves of S seeds on a grid of G steps: the IQM and its 95% bootstrap interval at each point."""

    steps: np.ndarray
    iqm: np.ndarray
    low: np.ndarray
    high: np.ndarray


def aggregate(curves: Sequence[Curve], points: int = 50) -> Band:
    """The IQM over seeds of ``curves`` on ``points`` steps from 0 to the shortest run's last step.

    Each curve is linearly interpolated between its logged points (held before its first one): a step
    beyond the shortest run would compare a different set of seeds, so the grid stops there.
    """
    curves = [c for c in curves if len(c.steps)]
    if not curves:
        raise ValueError("no curve has any logged point")
    end = min(int(c.steps[-1]) for c in curves)
    grid = np.linspace(0, end, points)
    ys = np.array([np.interp(grid, c.steps, c.returns) for c in curves])  # (S, G)
    bounds = [iqm_ci(ys[:, g], resamples=500) for g in range(points)]
    return Band(grid, np.array([iqm(ys[:, g]) for g in range(points)]), np.array([b[0] for b in bounds]),
                np.array([b[1] for b in bounds]))
