"""Seed sweeps: a grid of algorithms x envs x seeds, each cell an ordinary run directory, resumable.

``<sweep dir>/<algo>-<env>-s<seed>/`` is a run like any ``gymsuite train`` writes. A run whose ``eval.json``
exists is finished and skipped, so an interrupted sweep continues where it stopped when the same command
runs again (a run cut in the middle with a checkpoint resumes from it; one without is trained again). Every
cell's config is built and validated before the first run starts, and the directory is checked
(:func:`check_dir`): a sweep writes only inside it (no symbolic link anywhere in it), and a run found in a cell's
directory counts (finished) or resumes only when its ``config.yaml`` is that cell's. Runs go to
``executor.run_jobs``: one after another here, a local pool of ``jobs`` worker processes (one torch thread each),
or a Ray cluster.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

from gymsuite.agents.algorithms import registry
from gymsuite.agents.files.rundir import RunDir, safe_env_name
from gymsuite.agents.run.config import build_config, to_dict
from gymsuite.agents.run.runconfig import RunConfig
from gymsuite.agents.run.training import TrainResult, resume, train
from gymsuite.agents.sweeps.executor import Job, Outcome, Report, run_jobs
from gymsuite.common.errors import UserError
from gymsuite.common.files import append_json_line, load_yaml, read_yaml, write_yaml
from gymsuite.envs.factory import make_one
from gymsuite.envs.target import resolve_env


def parse_seeds(text: str) -> list[int]:
    """``"0-9"``, ``"0,3,5"`` or ``"0-2,7"`` as a sorted list of distinct seeds.

    Raises:
        UserError: anything else, or a range that runs backwards.
    """
    seeds: set[int] = set()
    for part in text.split(","):
        found = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if found is None:
            raise UserError(f"--seeds {text!r}: {part!r} is neither a seed nor a range", "write e.g. 0-9 or 0,3,5")
        low, high = int(found.group(1)), int(found.group(2) or found.group(1))
        if high < low:
            raise UserError(f"--seeds {text!r}: the range {part!r} runs backwards", f"write {high}-{low}")
        seeds.update(range(low, high + 1))
    return sorted(seeds)


@dataclass(frozen=True)
class Cell:
    """One run of the grid: its validated config and its directory."""

    cfg: RunConfig
    run_dir: Path

    @property
    def finished(self) -> bool:
        return RunDir(self.run_dir).eval.is_file()


def plan(root: Path, algos: Sequence[str], envs: Sequence[str], seeds: Sequence[int],
         cli: dict[str, Any] | None = None, overrides: Sequence[str] = (),
         config_file: str | None = None) -> list[Cell]:
    """Every cell of the grid, each config validated (an unknown algorithm or env, or an algorithm that cannot act
    in an env's action space, stops here, before any run).

    ``config_file``: a run's ``config.yaml`` (a tuned ``best/config.yaml``) under every cell, as ``train --config``
    takes it; its algo and env are the grid's when ``algos``/``envs`` are empty.

    Raises:
        UserError: an empty grid, or a cell whose config or env is refused (the message names the cell).
    """
    if config_file is not None:
        given = read_yaml(config_file)
        algos = algos or ([str(given["algo"])] if given.get("algo") else [])
        envs = envs or ([str(given["env"])] if given.get("env") else [])
    if not (algos and envs and seeds):
        raise UserError("the sweep's grid is empty", "give at least one --algo, one --env and one seed")
    cells = []
    for env in envs:
        action_space = None
        if not resolve_env(env).multiagent:  # an unknown id, module or file fails here, with its own fix
            probe = make_one(env)
            action_space = probe.action_space
            probe.close()
        for algo in algos:
            if action_space is not None:
                registry.check_action_space(registry.get(algo), action_space, env)
            for seed in seeds:
                try:
                    cfg = build_config({**(cli or {}), "algo": algo, "env": env, "seed": seed}, config_file,
                                       list(overrides))
                except UserError as err:
                    raise UserError(f"the sweep's cell {algo} on {env}: {err.message}", err.hint) from err
                cells.append(Cell(cfg, root / f"{cfg.algo}-{safe_env_name(env)}-s{seed}"))
    return cells


@contextlib.contextmanager
def quietly() -> Iterator[None]:
    """A job's training where it runs: one torch thread, and its progress bar and prints sent nowhere (the command
    shows one view for all its jobs)."""
    import torch

    torch.set_num_threads(1)
    with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink), contextlib.redirect_stdout(sink):
        yield


def run_summary(run_dir: Path, result: TrainResult) -> dict[str, Any]:
    """What a training job returns to the command: its run, final return, and whether (and by which signal) it was
    stopped (``executor``'s ``interrupted``/``signum``)."""
    return {"run_dir": str(run_dir), "mean_return": result.eval.get("mean_return"),
            "interrupted": result.interrupted, "signum": result.signum}


def run_cell(cell: Cell) -> dict[str, Any]:
    """Train (or resume) one cell in this process, quietly; its ``eval.json`` summary."""
    run = RunDir(cell.run_dir)
    with quietly():
        if run.is_run() and run.latest_checkpoint() is not None:
            result = resume(cell.run_dir)
        else:
            result = train(cell.cfg, cell.run_dir, overwrite=True)
    return run_summary(cell.run_dir, result)


def jobs_for(cells: Sequence[Cell]) -> list[Job]:
    """One executor job per unfinished cell (a run that asks for a GPU asks the cluster for one)."""
    return [Job(c.run_dir.name, run_cell, (c,), gpus=1.0 if str(c.cfg.device).startswith("cuda") else 0.0)
            for c in cells if not c.finished]


def outcome_record(outcome: Outcome) -> dict[str, Any]:
    """One line of ``outcomes.jsonl``: which run, how it ended (ok, failed, lost, interrupted), where, how often."""
    status = ("ok" if outcome.ok else "interrupted" if outcome.interrupted else "lost" if outcome.lost
              else "failed")
    return {"key": outcome.job.key, "status": status, "node": outcome.node, "attempts": outcome.attempts,
            "seconds": round(outcome.seconds, 3), "error": outcome.error}


def run_sweep(cells: Sequence[Cell], jobs: int = 1, on_done: Callable[[Outcome], None] | None = None,
              ray_address: str | None = None, log: Path | None = None) -> Report:
    """Train every unfinished cell, at most ``jobs`` at a time, here or on a Ray cluster (``executor.run_jobs``;
    with Ray, ``jobs=0`` leaves the number to the cluster's free CPUs).

    ``on_done(outcome)`` is called in this process as each run ends (the progress view); each outcome is also
    appended to ``log`` (``<sweep dir>/outcomes.jsonl``) when given. Ctrl-C or SIGTERM stops it: no run starts
    after, running ones keep a checkpoint, and the report's ``signum`` says so.
    """
    def done(outcome: Outcome) -> None:
        if log is not None:
            append_json_line(log, outcome_record(outcome))
        if on_done is not None:
            on_done(outcome)

    return run_jobs(jobs_for(cells), jobs, ray_address, done)


def check_dir(root: Path, cells: Sequence[Cell]) -> None:
    """Before a sweep writes anything into ``root``: no symbolic link in it (a linked cell would train elsewhere, a
    linked ``outcomes.jsonl`` append to another file, a linked finished run count as a cell), and every cell
    directory that holds a run holds that cell's run.

    Raises:
        UserError: the first link found (its path and target), or a cell whose ``config.yaml`` differs (what).
    """
    if not root.is_dir():
        return
    for where, dirs, files in os.walk(root):  # followlinks=False: a linked directory is listed, not entered
        for name in sorted([*dirs, *files]):
            path = Path(where) / name
            if path.is_symlink():
                raise UserError(f"{path} is a symbolic link (to {os.readlink(path)}): a sweep reads and writes only "
                                f"inside its directory {root}",
                                f"replace the link by a copy of what it points to (or remove it): rm {path}, then "
                                "run the same command again")
    for cell in cells:
        differ = cell_differs(cell)
        if differ:
            state = "a finished run" if cell.finished else "a run"
            raise UserError(f"{cell.run_dir} holds {state} that is not this cell's: {differ} (its config.yaml)",
                            f"move that run out of {root} (or choose another --dir), then run the same command again")


# What config.yaml must agree on with its cell. Other fields and hyperparameters the run resolved itself (an image's
# backbone, the budget rounded up to whole rollouts) may be added or differ as training decides them.
_SAME = ("algo", "env", "seed", "n_envs")


def cell_differs(cell: Cell) -> str:
    """How the run in ``cell``'s directory differs from the cell (algorithm, env, seed, budget, the cell's
    hyperparameters), ``"key saved, not wanted"`` each; empty when it is the cell's, or when no run is there."""
    run = RunDir(cell.run_dir)
    if not run.config.is_file():
        return "no config.yaml" if run.eval.is_file() else ""
    saved = read_yaml(run.config)
    want = load_yaml(yaml.safe_dump(to_dict(cell.cfg)))  # as config.yaml reads back (tuples as lists, floats as YAML's)
    differ = [(key, saved.get(key), want[key]) for key in _SAME if saved.get(key) != want[key]]
    if saved.get("timesteps") not in _budgets(cell):
        differ.append(("timesteps", saved.get("timesteps"), want["timesteps"]))
    hyper = saved.get("hyperparams")
    hyper = hyper if isinstance(hyper, dict) else {}
    for key, value in want["hyperparams"].items():
        if key != "n_timesteps" and not _agrees(hyper.get(key), value):
            differ.append((key, hyper.get(key), value))
    return "; ".join(f"{key} {'(not set)' if got is None else repr(got)}, not {wanted!r}"
                     for key, got, wanted in differ)


def _budgets(cell: Cell) -> tuple[int, ...]:
    """The cell's timesteps and, for an on-policy algorithm, those rounded up to whole rollouts of ``n_steps x
    n_envs`` (``resolved.whole_rollouts``; ``n_steps`` the cell's, else the algorithm class's default)."""
    cfg = cell.cfg
    cls = registry.get(cfg.algo).model_class(cfg.hyperparams)
    declared = inspect.signature(cls.__init__).parameters.get("n_steps")
    n_steps = cfg.hyperparams.get("n_steps", declared.default if declared is not None else None)
    if not issubclass(cls, OnPolicyAlgorithm) or not isinstance(n_steps, int) or n_steps < 1:
        return (cfg.n_timesteps,)
    rollout = n_steps * int(cfg.n_envs)
    return cfg.n_timesteps, -(-cfg.n_timesteps // rollout) * rollout


def _agrees(saved: Any, wanted: Any) -> bool:
    """A saved hyperparameter is the cell's; a mapping (``backbone_kwargs``) may hold keys the run added."""
    if isinstance(saved, dict) and isinstance(wanted, dict):
        return all(_agrees(saved.get(k), v) for k, v in wanted.items())
    return bool(saved == wanted)


def write_plan(cells: Sequence[Cell], root: Path) -> None:
    """``<root>/sweep.yaml``: the grid's cells (run directory and config), for the record."""
    write_yaml(root / "sweep.yaml", {"runs": [{"run_dir": c.run_dir.name, **to_dict(c.cfg)} for c in cells]})
