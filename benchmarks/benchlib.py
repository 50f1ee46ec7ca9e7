"""Shared by the benchmark scripts: machine description and BENCHMARKS.md sections.

Each benchmark owns one section of ``BENCHMARKS.md``, delimited by
``<!-- BEGIN name -->`` / ``<!-- END name -->`` markers, and rewrites only that
section, so benchmarks can run separately without clobbering each other.
"""

from __future__ import annotations

import os
import platform
import re
import time
from pathlib import Path
from typing import Any

import torch

BENCHMARKS = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
HEADER = (
    "# gymsuite benchmarks\n\n"
    "Every number here was measured by the script named in its section; rerun it to refresh.\n"
)


def machine() -> str:
    """One line describing where the numbers were taken."""
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"{time.strftime('%Y-%m-%d')}"
    )


def write_section(name: str, markdown: str, path: Path = BENCHMARKS) -> None:
    """Replace (or append) the section ``name`` of ``path`` with ``markdown``."""
    text = path.read_text() if path.exists() else HEADER
    block = f"<!-- BEGIN {name} -->\n{markdown.strip()}\n<!-- END {name} -->"
    pattern = re.compile(rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def table(header: list[str], rows: list[list[object]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def link(target: Path, markdown_file: Path) -> str:
    """How ``markdown_file`` refers to ``target``: relative to its folder when inside it, else as given."""
    try:
        return target.resolve().relative_to(markdown_file.resolve().parent).as_posix()
    except ValueError:
        return target.as_posix()


def subplots(ncols: int, width: float, height: float) -> tuple[Any, Any]:
    """A headless (Agg) matplotlib figure of one row of ``ncols`` axes, each ``width`` x ``height`` inches.

    Returns ``(figure, axes)`` with ``axes`` a flat array of ``ncols`` axes.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False)
    return fig, axes[0]


def save_figure(fig: Any, path: Path, dpi: int = 100) -> None:
    """Lay out ``fig``, write it to ``path`` (creating its folder) and free it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
