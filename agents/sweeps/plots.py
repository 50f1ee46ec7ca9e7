"""Plots of runs: one run's learning curve (``gymsuite plot``), and settings' IQM bands (``gymsuite compare --plot``).

Headless (matplotlib's Agg backend); every figure is written atomically as a PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gymsuite.agents.sweeps.curves import Band, read_curve
from gymsuite.common.files import atomic_write
from gymsuite.common.stats import Profile


def _figure(title: str) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.set(title=title, xlabel="env steps", ylabel="return")
    return fig, ax


def _save(fig: Any, out: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    atomic_write(out, lambda tmp: fig.savefig(tmp, dpi=100))
    plt.close(fig)


def plot_run(run: Path, out: Path, title: str) -> int:
    """``run``'s training return (mean of the last episodes) and periodic evaluations; returns the points drawn."""
    fig, ax = _figure(title)
    train, evals = read_curve(run), read_curve(run, "eval/mean_return")
    ax.plot(train.steps, train.returns, label="training episodes (rollout/ep_rew_mean)")
    if len(evals.steps):
        ax.plot(evals.steps, evals.returns, "o-", label="evaluation (eval/mean_return)")
    ax.legend(fontsize=8)
    _save(fig, out)
    return len(train.steps) + len(evals.steps)


def plot_bands(bands: Sequence[tuple[str, Band]], out: Path, title: str) -> None:
    """One line per setting (the IQM over seeds) with its 95% bootstrap band."""
    fig, ax = _figure(title)
    for name, band in bands:
        ax.plot(band.steps, band.iqm, label=name)
        ax.fill_between(band.steps, band.low, band.high, alpha=0.25)
    ax.set_ylabel("return (IQM over seeds, 95% bootstrap band)")
    ax.legend(fontsize=7)
    _save(fig, out)


def plot_profiles(profiles: Sequence[tuple[str, Profile]], normalised: bool, out: Path) -> None:
    """One step line per method: the fraction of its runs whose final return is above each threshold, with its
    95% stratified bootstrap band (a curve above another is better at every threshold)."""
    fig, ax = _figure("performance profiles (final returns)")
    for name, p in profiles:
        ax.step(p.taus, p.fraction, where="post", label=name)
        ax.fill_between(p.taus, p.low, p.high, step="post", alpha=0.25)
    ax.set(xlabel="normalised score (0: worst run on its env, 1: best)" if normalised else "final return",
           ylabel="fraction of runs with score > threshold", ylim=(-0.02, 1.02))
    ax.legend(fontsize=7)
    _save(fig, out)


def plot_importance(importances: dict[str, float], out: Path, title: str) -> None:
    """One bar per hyperparameter: its importance (most important on top)."""
    fig, ax = _figure(title)
    names = list(importances)[::-1]
    ax.barh(names, [importances[n] for n in names])
    ax.set(xlabel="importance (share of the value's variation)", ylabel="")
    _save(fig, out)
