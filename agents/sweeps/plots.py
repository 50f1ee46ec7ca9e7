"""Plots of runs: one run's learning curve (``gymsuite plot``), and settings' IQM bands (``gymsuite compare --plot``).

Headless (matplotlib's Agg backend). A figure's format is its file's suffix (``.png``, ``.pdf``, ``.svg``, ...:
:func:`check_plot_path`, which commands call before any work); it is written atomically (a temporary file beside
it, in that format, then renamed into place).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gymsuite.agents.sweeps.curves import Band, read_curve
from gymsuite.common.errors import UserError
from gymsuite.common.files import atomic_write
from gymsuite.common.stats import Profile


def plot_formats() -> list[str]:
    """The file suffixes (without the dot) matplotlib can write a figure as: png, pdf, svg, ..."""
    from matplotlib.backend_bases import FigureCanvasBase

    return sorted(FigureCanvasBase.get_supported_filetypes())


def check_plot_path(out: Path, flag: str | None = None) -> None:
    """Refuse, before any work, a plot path that names a directory or a format matplotlib cannot write.

    Args:
        out: the file to write. flag: the option that gave it (``--plot``), named in the message and the fix.

    Raises:
        UserError: ``out`` is an existing directory, or its suffix is missing or not one of :func:`plot_formats`.
    """
    given = f"{flag} {out}" if flag else str(out)
    better = out / "curves.png" if out.is_dir() else out.with_suffix(".png") if out.name else Path("curves.png")
    example = f"{flag} {better}" if flag else str(better)
    if out.is_dir():
        raise UserError(f"{given} is a directory; a plot is one file",
                        f"name a file in it, e.g. {example}" if flag else "move that directory away, then run again")
    formats = plot_formats()
    if out.suffix[1:].lower() not in formats:
        what = f"the suffix {out.suffix!r}" if out.suffix else "no suffix"
        raise UserError(f"{given} has {what}, which names no format matplotlib can write",
                        f"end the name with one of .{', .'.join(formats)} (e.g. {example})")


def _figure(title: str) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.set(title=title, xlabel="env steps", ylabel="return")
    return fig, ax


def _save(fig: Any, out: Path) -> None:
    """Write ``fig`` to ``out`` atomically, in the format of ``out``'s suffix (checked by :func:`check_plot_path`)."""
    import matplotlib.pyplot as plt

    try:
        check_plot_path(out)
        fig.tight_layout()
        # the format from the target's suffix: the temporary name must never decide it
        atomic_write(out, lambda tmp: fig.savefig(tmp, dpi=100, format=out.suffix[1:].lower()))
    finally:
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


def plot_profiles(profiles: Sequence[tuple[str, Profile]], normalised: bool, out: Path,
                  left_out: dict[str, str] | None = None) -> None:
    """One step line per method: the fraction of its runs whose final return is above each threshold, with its
    95% stratified bootstrap band (a curve above another is better at every threshold). ``left_out``: the envs
    not in the scores, and why (:func:`gymsuite.agents.sweeps.compare.profiles`), named under the axes."""
    fig, ax = _figure("performance profiles (final returns)")
    for name, p in profiles:
        ax.step(p.taus, p.fraction, where="post", label=name)
        ax.fill_between(p.taus, p.low, p.high, step="post", alpha=0.25)
    xlabel = "normalised score (0: worst run on its env, 1: best)" if normalised else "final return"
    if left_out:  # under the axis, where tight_layout keeps room for it
        xlabel += "\nleft out, no range to normalise: " + "; ".join(f"{env} ({why})" for env, why in left_out.items())
    ax.set(xlabel=xlabel, ylabel="fraction of runs with score > threshold", ylim=(-0.02, 1.02))
    ax.legend(fontsize=7)
    _save(fig, out)


def plot_importance(importances: dict[str, float], out: Path, title: str) -> None:
    """One bar per hyperparameter: its importance (most important on top)."""
    fig, ax = _figure(title)
    names = list(importances)[::-1]
    ax.barh(names, [importances[n] for n in names])
    ax.set(xlabel="importance (share of the value's variation)", ylabel="")
    _save(fig, out)


def plot_shift(result: dict[str, Any], out: Path) -> None:
    """``gymsuite shift``'s result (:func:`gymsuite.agents.saved.shifting.shift`): one axis as a line of the IQM
    with its bootstrap band (the nominal value marked), two as a heat map of the IQM."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names, values, nominal = result["params"], result["values"], result["nominal"]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    title = f"{result['algo']} on {result['env']}: return under shift ({result['seeds']} seeds)"
    if len(names) == 1:
        x = values[names[0]]
        ax.plot(x, result["mean_return"], marker="o", label="IQM over seeds")
        ax.fill_between(x, result["ci_low"], result["ci_high"], alpha=0.25, label="95% bootstrap interval")
        if nominal[names[0]] is not None:
            ax.axvline(nominal[names[0]], color="grey", linestyle="--", label="nominal")
        if min(x) > 0 and max(x) / min(x) >= 10:
            ax.set_xscale("log")
        ax.set(title=title, xlabel=names[0], ylabel="return")
        ax.legend()
    else:
        grid = np.array(result["mean_return"])  # (N0, N1): rows the first parameter
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(range(len(values[names[1]])), [f"{v:.3g}" for v in values[names[1]]])
        ax.set_yticks(range(len(values[names[0]])), [f"{v:.3g}" for v in values[names[0]]])
        for (i, j), v in np.ndenumerate(grid):
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", color="white", fontsize=8)
        fig.colorbar(image, ax=ax, label="return (IQM over seeds)")
        ax.set(title=title, xlabel=names[1], ylabel=names[0])
    _save(fig, out)


def plot_compression(result: dict[str, Any], out: Path) -> None:
    """``gymsuite compress --sweep``'s curve (:func:`gymsuite.agents.sweeps.compression.sweep`): the IQM return
    against the acting network's non-zero parameters (log axis), with bootstrap intervals, the teacher's as a line."""
    points, teacher = result["points"], result["teacher"]
    fig, ax = _figure(f"{result['method']} of {result['algo']} on {result['env']}: return against size")
    x = [p["nonzero"] for p in points]
    y = [p["return_iqm"] for p in points]
    low = [p["return_iqm"] - p["return_ci"][0] for p in points]
    high = [p["return_ci"][1] - p["return_iqm"] for p in points]
    ax.errorbar(x, y, yerr=[low, high], marker="o", capsize=3, label=f"{result['method']} (IQM, 95% bootstrap)")
    for p in points:
        ax.annotate(str(p["value"]), (p["nonzero"], p["return_iqm"]), textcoords="offset points", xytext=(4, 4),
                    fontsize=7)
    ax.axhline(teacher["return_iqm"], color="grey", linestyle="--",
               label=f"teacher ({teacher['nonzero']:,} parameters)")
    ax.set_xscale("log")
    ax.set(xlabel="non-zero parameters of the acting network (log)", ylabel="return (IQM over episodes)")
    ax.legend(fontsize=7)
    _save(fig, out)
