"""``gymsuite attack``'s report as a person reads it: a table, and return against epsilon as a plot.

The report is :func:`gymsuite.agents.saved.attacking.summarize`'s: per defence, per attack (and ``worst``), per eps
(keys as text), the mean return, the IQM and its 95% bootstrap interval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gymsuite.common.files import atomic_write


def describe(report: dict[str, Any]) -> list[str]:
    """One block per defence: a row per attack (and ``worst``), a column per eps, each cell ``IQM [low, high]``."""
    eps = [f"{e:g}" for e in report["eps"]]
    lines = [f"return against epsilon: IQM [95% bootstrap interval] over {len(report['seeds'])} seed(s) x "
             f"{report['episodes']} episodes; worst = per episode, the lowest over the attacks"]
    for label, table in report["defences"].items():
        lines.append(f"defence {label}" + (f" (clean return {table['clean']:.1f})" if "clean" in table else ""))
        names = list(table["iqm"])
        width = max(len(n) for n in [*names, "attack"])
        cells = {n: [f"{table['iqm'][n][e]:.1f} [{table['ci'][n][e][0]:.0f}, {table['ci'][n][e][1]:.0f}]"
                     for e in eps] for n in names}
        col = max(len(c) for row in cells.values() for c in row)
        lines.append(f"  {'attack':{width}s}  " + "  ".join(f"{'eps ' + e:>{col}s}" for e in eps))
        lines += [f"  {n:{width}s}  " + "  ".join(f"{c:>{col}s}" for c in cells[n]) for n in names]
    return lines


def plot(report: dict[str, Any], out: Path) -> None:
    """Return (IQM, with its interval as a band) against eps, a line per attack and a thick one for the worst; a
    panel per defence. Written atomically in the format of ``out``'s suffix (checked by the caller)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    defences = report["defences"]
    fig, axes = plt.subplots(1, len(defences), figsize=(5 * len(defences), 4), squeeze=False, sharey=True)
    eps = report["eps"]
    for ax, (label, table) in zip(axes[0], defences.items(), strict=True):
        for name in table["iqm"]:
            keys = [f"{e:g}" for e in eps]
            iqm = [table["iqm"][name][k] for k in keys]
            low, high = ([table["ci"][name][k][i] for k in keys] for i in (0, 1))
            worst = name == "worst"
            ax.plot(eps, iqm, marker="o", label=name, lw=3 if worst else 1.5, color="black" if worst else None)
            ax.fill_between(eps, low, high, alpha=0.15, color="black" if worst else None)
        ax.set_title(f"defence: {label}")
        ax.set_xlabel("epsilon (observation units)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("return (IQM)")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    try:
        atomic_write(out, lambda tmp: fig.savefig(tmp, dpi=100, format=out.suffix[1:].lower()))
    finally:
        plt.close(fig)
