"""``gymsuite compress --sweep``: the return against the model's size, one compression per size.

The course's accuracy-versus-size trade-off for an agent: one method (distillation over student widths, or
pruning over fractions), each value written as its own run directory ``OUT/<method>-<value>`` (as ``gymsuite
compress`` writes one), the teacher measured once, and ``OUT/sweep.json`` with the curve (``OUT/sweep.png``
plots it: non-zero parameters of the acting network on a log axis, the IQM return with its bootstrap interval,
the teacher's as a line). Built in a hidden folder and renamed into place at the end, as one run is.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gymsuite.agents.run import compressing
from gymsuite.agents.run.compressing import CompressOptions
from gymsuite.agents.saved.loading import LoadedAgent
from gymsuite.agents.sweeps.plots import plot_compression
from gymsuite.common.errors import UserError
from gymsuite.common.files import write_json

SWEEPABLE = ("distill", "prune")


def with_value(options: CompressOptions, value: str) -> CompressOptions:
    """``options`` with one size of the sweep: a student size (distill) or a fraction (prune)."""
    if options.method == "distill":
        return dataclasses.replace(options, size=value)
    try:
        return dataclasses.replace(options, fraction=float(value))
    except ValueError:
        raise UserError(f"the pruning fraction must be a number in (0, 1), got {value!r}", "e.g. --prune 0.9") from None


def run_name(method: str, value: str) -> str:
    """The sub-run's folder name: ``distill-16_16``, ``prune-0.9``."""
    return f"{method}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', value)}"


def check_sweep(options: CompressOptions, values: Sequence[str]) -> None:
    """A sweep takes a method with sizes and at least two distinct values."""
    if options.method not in SWEEPABLE:
        raise UserError(f"--sweep varies the size of a distilled student or the pruned fraction, and {options.method} "
                        "has one size", "drop --sweep, or sweep --distill or --prune")
    if len(set(values)) < 2:
        raise UserError(f"--sweep needs at least two sizes, got {list(values)}",
                        "e.g. --prune 0.5 0.8 0.9 0.95 --sweep, or --distill 4 8 16 32 --sweep")


def sweep(teacher: LoadedAgent, out: Path, options: CompressOptions, values: Sequence[str],
          others: Sequence[LoadedAgent] = (), overwrite: bool = False, plot: Path | None = None) -> dict[str, Any]:
    """Compress ``teacher`` once per value into ``out/<method>-<value>``; returns ``sweep.json``'s keys.

    Returns:
        ``method``, ``algo``, ``env``, ``teacher`` (its report), ``points`` (one per value, in the given order:
        ``value``, ``run_dir``, ``parameters``, ``nonzero``, ``bytes``, ``latency_b1``, ``latency_b64``, ``agreement``,
        ``return_iqm``, ``return_ci``), ``plot``.
    """
    check_sweep(options, values)
    for value in values:  # every size checked before the first is trained
        compressing.check(teacher, out / run_name(options.method, value), with_value(options, value), others,
                          overwrite=True)
    compressing.check_out(out, overwrite, [teacher, *others])
    teacher_report = compressing.measure_teacher(teacher, options)
    points = []
    with compressing.building(out, overwrite) as folder:
        for value in values:
            each = with_value(options, value)
            name = run_name(options.method, value)
            result, report = compressing.build(teacher, out / name, each, others, teacher_report)
            compressing.write_run(folder / name, teacher, result, each, report)
            mine = report["compressed"]
            points.append({"value": value, "run_dir": str(out / name),
                           **{k: mine[k] for k in ("parameters", "nonzero", "bytes", "latency_b1", "latency_b64",
                                                   "agreement",
                                                   "return_iqm", "return_ci")}})
        summary = {"method": options.method, "algo": teacher.algo, "env": teacher.env,
                   "teacher_run": str(teacher.run.root) if teacher.run else None, "teacher": teacher_report,
                   "points": points, "plot": str(plot or out / "sweep.png")}
        write_json(folder / compressing.SWEEP_NAME, summary)
        plot_compression(summary, folder / "sweep.png" if plot is None else plot)
    return summary
