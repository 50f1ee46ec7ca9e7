"""Statistics over seeds: interquartile mean, its bootstrap interval, steps to a threshold.

Used by ``gymsuite compare`` (agents/sweeps/compare.py) and the benchmarks. Few seeds (5) and heavy
tails (a seed that never learns) are the norm in RL, so both report the interquartile mean (IQM: the
mean of the middle half, Agarwal et al. 2021, "Deep RL at the edge of the statistical precipice") with
a percentile bootstrap confidence interval, as rliable does; rliable itself fails to import with
pandas 3, and scipy has both pieces (``scipy.stats.trim_mean``, ``scipy.stats.bootstrap``). scipy.stats is imported
where it is used, not with this module: it takes about 0.7 s, which every command that imports a report would
otherwise pay at start, training included.

Shapes: S seeds, T points of a learning curve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def iqm(values: Sequence[float] | np.ndarray) -> float:
    """Interquartile mean of ``(S,)`` values: the mean after cutting 25% from each end (``trim_mean(x, 0.25)``)."""
    from scipy import stats  # on first use (see the module docstring)

    return float(stats.trim_mean(np.asarray(values, np.float64), 0.25))


def iqm_ci(values: Sequence[float] | np.ndarray, confidence: float = 0.95, resamples: int = 2000,
           seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the IQM of ``(S,)`` values (seeded, so a rerun gives the same numbers).

    One value, or all values equal, has no spread to resample: the interval is that value.
    """
    x = np.asarray(values, np.float64)
    if len(x) == 0:
        raise ValueError("no values")
    if len(x) == 1 or np.ptp(x) == 0:
        return float(x[0]), float(x[0])
    from scipy import stats  # on first use (see the module docstring)

    result = stats.bootstrap((x,), lambda s, axis=-1: stats.trim_mean(s, 0.25, axis=axis),
                             confidence_level=confidence, n_resamples=resamples, method="percentile",
                             random_state=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


@dataclass(frozen=True)
class Crossing:
    """When a learning curve first reached its threshold: env steps and wall seconds, or the budget if never."""

    steps: float
    seconds: float
    reached: bool


def steps_to_threshold(steps: Sequence[float], seconds: Sequence[float], returns: Sequence[float],
                       threshold: float, budget: float, budget_seconds: float, window: int = 10) -> Crossing:
    """The first episode end at which the mean return of the last ``window`` episodes is at least ``threshold``.

    Args:
        steps, seconds, returns: ``(T,)`` the env step count, wall time and return at each episode's end,
            in order (a learning curve as :class:`benchmarks.benchlib.EpisodeCurve` records it).
        threshold: the return to reach. budget, budget_seconds: what a run that never reaches it counts
            as (its whole run), flagged ``reached=False``, so that it pulls the IQM the right way.
        window: episodes averaged (fewer at the start of the curve: a run cannot cross before
            ``window`` episodes have ended, so one lucky episode does not count).
    """
    r = np.asarray(returns, np.float64)
    if not len(steps) == len(seconds) == len(r):
        raise ValueError("steps, seconds and returns must have the same length")
    if len(r) >= window:
        means = np.convolve(r, np.ones(window) / window, mode="valid")  # means[i]: episodes i .. i + window - 1
        hits = np.flatnonzero(means >= threshold)
        if len(hits):
            end = hits[0] + window - 1
            return Crossing(float(steps[end]), float(seconds[end]), True)
    return Crossing(float(budget), float(budget_seconds), False)


def summary(values: Sequence[float], digits: int = 0) -> str:
    """``"IQM [low, high]"`` of ``(S,)`` values, for a table cell (numbers with thousands separators)."""
    low, high = iqm_ci(values)
    return f"{iqm(values):,.{digits}f} [{low:,.{digits}f}, {high:,.{digits}f}]"


@dataclass(frozen=True)
class Profile:
    """A performance profile: ``fraction`` (T,) of runs whose score exceeds each of ``taus`` (T,), with the
    ``low``/``high`` (T,) ends of its stratified 95% bootstrap band."""

    taus: np.ndarray
    fraction: np.ndarray
    low: np.ndarray
    high: np.ndarray


def performance_profile(scores: Sequence[Sequence[float] | np.ndarray], taus: np.ndarray, confidence: float = 0.95,
                        resamples: int = 2000, seed: int = 0) -> Profile:
    """The score distribution of one method (Agarwal et al. 2021, as rliable's ``create_performance_profile``):
    for each threshold tau, the fraction of all its runs, on every task, whose score is above tau.

    Args:
        scores: per task, the ``(S_k,)`` scores of that task's runs (normalised when tasks differ in scale).
        taus: ``(T,)`` thresholds.

    The band resamples runs within each task (a stratified bootstrap, so each task keeps its number of runs),
    seeded. Each task weighs the same, whatever its number of runs.
    """
    tasks = [np.asarray(s, np.float64) for s in scores if len(s)]
    if not tasks:
        raise ValueError("no scores")
    taus = np.asarray(taus, np.float64)

    def fraction(samples: list[np.ndarray]) -> np.ndarray:  # samples[k]: (R, S_k) -> (R, T)
        return np.mean([(s[..., None] > taus).mean(axis=-2) for s in samples], axis=0)

    rng = np.random.default_rng(seed)
    drawn = [s[rng.integers(0, len(s), size=(resamples, len(s)))] for s in tasks]
    boot = fraction(drawn)
    tail = (1 - confidence) / 2
    point = fraction([s[None, :] for s in tasks])[0]
    return Profile(taus, point, np.quantile(boot, tail, axis=0), np.quantile(boot, 1 - tail, axis=0))
