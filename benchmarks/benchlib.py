"""Shared by the benchmarks: runs through the product's pipeline, machine description, BENCHMARKS.md sections.

Each benchmark owns one section of ``BENCHMARKS.md``, delimited by
``<!-- BEGIN name -->`` / ``<!-- END name -->`` markers, and rewrites only that
section, so benchmarks can run separately without clobbering each other.

Benchmarks train through :func:`config` and :func:`train`, i.e. through
``build_config`` and ``training.train`` as ``gymsuite train`` does; only a
reference library (plain SB3) is built by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import yaml
from stable_baselines3.common.callbacks import BaseCallback

from gymsuite.agents.sweeps.executor import Job
from gymsuite.agents.sweeps.executor import run_jobs as execute

if TYPE_CHECKING:
    from gymsuite.agents.run.config import RunConfig
    from gymsuite.agents.run.training import TrainResult

class EpisodeCurve(BaseCallback):
    """A run's learning curve: env steps, wall seconds and return at each training episode's end (Monitor's).

    With ``threshold``, stops training once the mean return of the last ``window`` episodes reaches it.
    """

    def __init__(self, threshold: float | None = None, window: int = 10) -> None:
        super().__init__()
        self.threshold, self.window, self.start = threshold, window, 0.0
        self.steps: list[int] = []
        self.seconds: list[float] = []
        self.returns: list[float] = []

    def _on_training_start(self) -> None:
        self.start = time.perf_counter()

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            if "episode" in info:
                self.steps.append(self.num_timesteps)
                self.seconds.append(time.perf_counter() - self.start)
                self.returns.append(float(info["episode"]["r"]))
        recent = self.returns[-self.window:]
        return not (self.threshold is not None and len(recent) == self.window and np.mean(recent) >= self.threshold)


BENCHMARKS = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
HEADER = (
    "# gymsuite benchmarks\n\n"
    "Every number here was measured by the script named in its section; rerun it to refresh.\n"
)


def config(cli: dict[str, Any], hyperparams: dict[str, Any] | None = None, exact: bool = False) -> RunConfig:
    """The run config of ``gymsuite train`` with flags ``cli`` and ``--hyperparams key=value`` for ``hyperparams``.

    Args:
        cli: :class:`~gymsuite.agents.run.config.RunConfig` fields, as the command line gives them. Without a
            ``preset``, the zoo's (``--preset zoo``): the published tables were measured on rl-baselines3-zoo's
            entries, and a tuned gymsuite entry must not change them silently.
        hyperparams: values that override the shipped defaults (``agents/hyperparams/<algo>.yml``).
        exact: the benchmark fixes every hyperparameter itself: fail if the shipped defaults
            add one it did not give (``n_envs`` and ``n_timesteps`` come from ``cli``), since that
            would silently change what the benchmark compares.
    """
    from gymsuite.agents.run.config import build_config

    given = hyperparams or {}
    cli = {"preset": "zoo", **cli}
    cfg = build_config(cli, overrides=[f"{key}={_yaml(value)}" for key, value in given.items()])
    leaked = {k: v for k, v in cfg.hyperparams.items() if k not in given and k not in ("n_envs", "n_timesteps")}
    if exact and leaked:
        raise RuntimeError(f"the shipped defaults of {cfg.algo} on {cfg.env} add {leaked} to the benchmark's "
                           "hyperparameters: give these keys explicitly")
    return cfg


def _yaml(value: Any) -> str:
    """``value`` as the one-line YAML that ``--hyperparams key=value`` reads back to the same value."""
    return yaml.safe_dump(value, default_flow_style=True, width=1 << 16).removesuffix("\n...\n").strip()


def train(cfg: RunConfig, run_dir: Path, callbacks: Sequence[BaseCallback] = ()) -> TrainResult:
    """``gymsuite.agents.run.training.train`` into ``run_dir`` (replaced if it exists), without its progress bar.

    The bar goes to stderr, which parallel workers would interleave; benchmarks print one line per run.
    """
    from gymsuite.agents.run.training import train as train_run

    with quiet():
        return train_run(cfg, run_dir, overwrite=True, callbacks=callbacks)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence stderr (progress bars), which parallel workers would interleave; benchmarks print one line per job."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):
        yield


def run_jobs(run_one: Callable[[dict[str, Any]], dict[str, Any]], jobs: list[dict[str, Any]],
             workers: int) -> list[dict[str, Any]]:
    """``run_one`` on each job through the product's executor (:func:`gymsuite.agents.sweeps.executor.run_jobs`,
    what ``sweep`` and ``tune`` users get): at most ``workers`` spawned worker processes, longest (most ``steps``)
    first, a lost worker's job retried. ``run_one`` must be a module-level function (the workers import it).

    Returns:
        The results in the order of ``jobs``.

    Raises:
        KeyboardInterrupt: Ctrl-C or SIGTERM stopped the jobs.
        RuntimeError: a job failed (every other job still ran, and printed its line).
    """
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i].get("steps", 0))
    report = execute([Job(str(i), run_one, (jobs[i],)) for i in order], workers=workers)
    if report.stopped:
        raise KeyboardInterrupt(f"stopped by signal {report.signum}")
    failed = [o for o in report.outcomes if not o.ok]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(jobs)} benchmark jobs failed: "
                           + "; ".join(f"{jobs[int(o.job.key)]}: {o.error}" for o in failed))
    results = {int(o.job.key): o.result for o in report.outcomes}
    return [results[i] or {} for i in range(len(jobs))]


Runner = Callable[[list[dict[str, Any]], int], list[dict[str, Any]]]  # (jobs, workers) -> results in jobs' order


def writes(args: argparse.Namespace) -> bool:
    """Whether a run with ``args`` updates BENCHMARKS.md (never with --quick or --no-write)."""
    return not (args.no_write or args.quick)


def run_benchmark(name: str, args: argparse.Namespace, jobs_for: Callable[[Path], list[dict[str, Any]]], run: Runner,
                  markdown: Callable[[list[dict[str, Any]], float, int], str],
                  estimate: Callable[[list[dict[str, Any]], int], float] | None = None,
                  workers: int | None = None) -> str:
    """A learning benchmark's whole run, after its options are parsed: the jobs ``jobs_for(tmp)`` (their run
    directories under a temporary folder, removed after), the wall-time ``estimate`` in minutes printed first, the
    jobs run on ``workers`` processes (default ``--workers``, at most 2: the machine's cores), the section
    ``markdown(results, seconds, workers)`` printed and, unless --quick or --no-write, written as section ``name``.
    """
    workers = min(args.workers, 2) if workers is None else workers
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"gymsuite-bench-{name}-") as tmp:
        jobs = jobs_for(Path(tmp))
        if estimate is not None:
            print(f"estimated wall time: about {estimate(jobs, workers):.0f} min", flush=True)
        results = run(jobs, workers)
    text = markdown(results, time.perf_counter() - start, workers)
    publish(name, text, args.benchmarks, writes(args))
    return text


def job_result(job: dict[str, Any], out: dict[str, Any], start: float) -> dict[str, Any]:
    """A finished job's record: its keys (but ``hyper``), its results ``out`` and ``wall`` seconds since ``start``;
    printed as one JSON line (without the learning ``curve``), so a long benchmark shows its progress."""
    result = {**{k: v for k, v in job.items() if k != "hyper"}, **out, "wall": time.perf_counter() - start}
    print(json.dumps({k: v for k, v in result.items() if k != "curve"}), flush=True)
    return result


def add_run_options(p: argparse.ArgumentParser, plot: Path | None = None) -> None:
    """The options every learning benchmark shares: ``--workers``, ``--quick``, ``--no-write``, ``--benchmarks``,
    and ``--plot`` (default ``plot``) for one that draws."""
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="tiny budgets to check the whole path; implies --no-write")
    p.add_argument("--no-write", action="store_true", help="print the section instead of updating BENCHMARKS.md")
    p.add_argument("--benchmarks", type=Path, default=BENCHMARKS, help="markdown file to update")
    if plot is not None:
        p.add_argument("--plot", type=Path, default=plot)


def add_meta_budget(p: argparse.ArgumentParser, full: dict[str, Any], task: str = "task") -> None:
    """The budget options of a ``gymsuite meta`` benchmark (meta.py, mworld.py), their defaults from ``full``; ``task``:
    what the family's members are called in the help (a Meta-World family's are goals)."""
    p.add_argument("--seeds", type=int, help=f"seeds (default {full['seeds']}; --quick 1)")
    p.add_argument("--timesteps", type=int, help=f"meta-training env steps per method (default {full['timesteps']:,})")
    p.add_argument("--adapt-steps", type=int, help=f"adaptation env steps (default {full['adapt_steps']:,})")
    p.add_argument("--meta-batch", type=int, help=f"{task}s per Reptile iteration (default {full['meta_batch']})")
    p.add_argument("--inner-steps", type=int, help=f"Reptile's steps per {task} (default {full['inner_steps']:,})")


def fill_budget(args: argparse.Namespace, full: dict[str, Any], quick: dict[str, Any]) -> None:
    """Each budget option (a key of ``full``) left out of the command line takes its full value, or --quick's."""
    for key, value in full.items():
        if getattr(args, key) is None:
            setattr(args, key, quick[key] if args.quick else value)


def machine() -> str:
    """One line describing where the numbers were taken."""
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"{time.strftime('%Y-%m-%d')}"
    )


def marked(name: str, markdown: str) -> str:
    """``markdown`` between the markers of the section ``name`` (a section may hold marked sections of its own)."""
    return f"<!-- BEGIN {name} -->\n{markdown.strip()}\n<!-- END {name} -->"


def write_section(name: str, markdown: str, path: Path = BENCHMARKS, parent: str | None = None) -> None:
    """Replace the section ``name`` of ``path`` with ``markdown``; a new one goes at the end of the section
    ``parent`` when given and present (a subsection run alone for the first time), else at the end of the file."""
    text = path.read_text() if path.exists() else HEADER
    block = marked(name, markdown)
    pattern = re.compile(rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S)
    end = f"<!-- END {parent} -->"
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    elif parent is not None and end in text:
        text = text.replace(end, block + "\n" + end, 1)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def publish(name: str, text: str, path: Path, write: bool) -> None:
    """Print a benchmark's section and, when ``write``, replace its section ``name`` of ``path`` with it."""
    print(text)
    if write:
        write_section(name, text, path)
        print(f"wrote the {name} section of {path}")


def publish_alone(parent: str, parts: dict[str, str], note: Callable[[str], str], path: Path, write: bool) -> str:
    """Subsections of the section ``parent`` run on their own: under each part's heading (its first paragraph) goes
    ``note(name)``, saying when and how it was measured; each is printed and, when ``write``, replaces its earlier
    self in ``path`` (a new one goes at the end of ``parent``). ``parts``: section name -> markdown. Returns what
    was printed."""
    alone = {}
    for name, md in parts.items():
        heading, rest = md.split("\n\n", 1)
        alone[name] = f"{heading}\n\n{note(name)}\n\n{rest}"
    text = "\n\n".join(marked(name, md) for name, md in alone.items())
    print(text)
    for name, md in alone.items() if write else ():
        write_section(name, md, path, parent=parent)
        print(f"wrote the {name} section of {path}")
    return text


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def read_tables(markdown: str) -> list[tuple[list[str], list[list[str]]]]:
    """The inverse of :func:`table`: every markdown table in ``markdown`` as ``(header, rows)`` of stripped cells."""
    found: list[tuple[list[str], list[list[str]]]] = []
    lines = markdown.splitlines()
    for i, line in enumerate(lines):
        is_start = line.startswith("|") and i + 1 < len(lines) and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[i + 1])
        if not is_start or (i > 0 and lines[i - 1].startswith("|")):
            continue
        rows = []
        for row in lines[i + 2:]:
            if not row.startswith("|"):
                break
            rows.append(_cells(row))
        found.append((_cells(line), rows))
    return found


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def numbers(cell: str) -> list[float]:
    """The numbers in a table cell, in order: ``"1,234 ± 5.6"`` -> ``[1234.0, 5.6]``, ``"3/5"`` -> ``[3.0, 5.0]``."""
    return [float(x.replace(",", "")) for x in re.findall(r"[-+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?", cell)]


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
