"""Comparing runs: final returns of run directories, grouped by setting, with IQM and bootstrap intervals.

A *run* is a run directory (``config.yaml`` + ``eval.json``: :mod:`gymsuite.agents.files.rundir`); any other folder
given is searched for runs below it (a sweep). Runs that differ only in their seed form one *setting*; each
setting's final returns (``eval.json``'s ``mean_return``, one per seed: S values) are summarised by their mean,
median and interquartile mean with a 95% percentile bootstrap interval (:mod:`gymsuite.common.stats`), and each method's
(setting without env) final returns over every env by a performance profile (:func:`profiles`). A run without
``eval.json`` (still training, or interrupted) is counted as unfinished and left out of the numbers.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gymsuite.agents.files.rundir import RunDir
from gymsuite.agents.sweeps.curves import Band, aggregate, read_curve
from gymsuite.common.errors import UserError
from gymsuite.common.files import read_yaml
from gymsuite.common.stats import Profile, iqm, iqm_ci, performance_profile

# Fields of a run's config that do not make it another setting: the seed, and where and how it ran.
_NOT_SETTING = {"seed", "threads", "device", "eval_freq", "checkpoint_freq", "check_env"}


@dataclass(frozen=True)
class RunResult:
    """One run directory: its setting (config without seed), seed, and final return (None: unfinished)."""

    path: Path
    setting: str
    seed: int
    final_return: float | None


@dataclass
class Setting:
    """The runs of one setting, and its summary over seeds."""

    name: str
    runs: list[RunResult] = field(default_factory=list)
    env: str = ""

    @property
    def method(self) -> str:
        """The setting without its env: ``ppo``, ``ppo (learning_rate=0.001)``."""
        return self.name.replace(f" on {self.env}", "", 1)

    @property
    def returns(self) -> list[float]:
        """``(S,)`` final returns of the finished runs, by seed."""
        return [r.final_return for r in sorted(self.runs, key=lambda r: r.seed) if r.final_return is not None]

    def summary(self) -> dict[str, Any]:
        """Seeds, mean, median, IQM and its 95% bootstrap interval, min and max of the final returns."""
        x = self.returns
        out: dict[str, Any] = {"setting": self.name, "runs": len(self.runs), "finished": len(x)}
        if x:
            low, high = iqm_ci(x)
            out.update({"mean": float(np.mean(x)), "median": float(np.median(x)), "iqm": iqm(x),
                        "iqm_low": low, "iqm_high": high, "min": float(min(x)), "max": float(max(x)),
                        "returns": x})
        return out


def find_runs(paths: Sequence[str | Path]) -> list[Path]:
    """The run directories among ``paths`` and below them, each once, in order.

    Raises:
        UserError: a path that does not exist, or no run anywhere.
    """
    found: dict[Path, None] = {}
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise UserError(f"{given} does not exist", "pass run directories or folders that hold them")
        if RunDir(path).is_run():
            found[path] = None
            continue
        for config in sorted(path.rglob("config.yaml")):
            if RunDir(config.parent).is_run() and "checkpoints" not in config.parts:
                found[config.parent] = None
    if not found:
        raise UserError(f"no run directory (a folder with config.yaml) in {', '.join(str(p) for p in paths)}",
                        "pass the directories gymsuite train wrote, or a folder that holds them")
    return list(found)


def read_run(path: Path) -> RunResult:
    """One run's setting, seed and final return.

    Raises:
        UserError: a config.yaml that is not a gymsuite run's, or an eval.json without ``mean_return``.
    """
    run = RunDir(path)
    config = read_yaml(run.config)
    if not isinstance(config, dict) or "algo" not in config or "env" not in config:
        raise UserError(f"{run.config} is not a gymsuite run's config (no algo and env)",
                        "pass the directories gymsuite train wrote")
    setting = {k: v for k, v in config.items() if k not in _NOT_SETTING}
    final = None
    if run.eval.is_file():
        try:
            final = float(json.loads(run.eval.read_text())["mean_return"])
        except (ValueError, KeyError, TypeError) as err:
            raise UserError(f"{run.eval} has no readable mean_return ({err})",
                            "delete it and evaluate the run again with gymsuite evaluate") from err
    return RunResult(path, json.dumps(setting, sort_keys=True, default=str), int(config.get("seed", 0)), final)


def group(results: Iterable[RunResult]) -> list[Setting]:
    """Runs grouped by setting, named ``algo on env`` plus the hyperparameters that tell settings apart."""
    by: dict[str, Setting] = {}
    for r in results:
        by.setdefault(r.setting, Setting("", [])).runs.append(r)
    configs = {key: json.loads(key) for key in by}
    for key, s in by.items():
        s.name, s.env = _name(configs[key], list(configs.values())), str(configs[key]["env"])
    return list(by.values())


def _name(config: dict[str, Any], all_configs: list[dict[str, Any]]) -> str:
    """``algo on env``, and ``key=value`` for each field or hyperparameter whose value differs between settings
    of the same algorithm and env."""
    same = [c for c in all_configs if c["algo"] == config["algo"] and c["env"] == config["env"]]
    flat = [_flatten(c) for c in same]
    mine = _flatten(config)
    differ = sorted(k for k in set().union(*flat) if len({json.dumps(f.get(k), default=str) for f in flat}) > 1)
    extra = ", ".join(f"{k}={json.dumps(mine.get(k), default=str)}" for k in differ)
    return f"{config['algo']} on {config['env']}" + (f" ({extra})" if extra else "")


def _flatten(config: dict[str, Any]) -> dict[str, Any]:
    """The config with its hyperparameters lifted to the top (``hyperparams.x`` is written ``x``)."""
    out = {k: v for k, v in config.items() if k != "hyperparams"}
    out.update(config.get("hyperparams") or {})
    return out


def compare(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    """The summary of every setting among the runs under ``paths`` (see the module docstring)."""
    return [s.summary() for s in group(read_run(p) for p in find_runs(paths))]


def curve_bands(paths: Sequence[str | Path]) -> list[tuple[str, Band]]:
    """Each setting's learning curve (:func:`gymsuite.agents.sweeps.curves.aggregate` of its runs' curves), by name.

    Raises:
        UserError: no run has logged a return yet.
    """
    bands = []
    for s in group(read_run(p) for p in find_runs(paths)):
        curves = [c for c in (read_curve(r.path) for r in s.runs) if len(c.steps)]
        if curves:
            bands.append((s.name, aggregate(curves)))
    if not bands:
        raise UserError("no run has logged a return yet (logs/progress.csv)", "let the runs train longer, then plot")
    return bands


def profiles(paths: Sequence[str | Path], points: int = 101
             ) -> tuple[list[tuple[str, Profile]], bool, dict[str, str]]:
    """Each method's performance profile over the envs it ran on, whether scores were normalised, and the envs
    left out (env -> why).

    A *method* is a setting without its env (``ppo``, ``ppo (learning_rate=0.001)``), so one profile gathers an
    algorithm's runs on every env of a sweep. With one env the scores are its final returns; with several, each
    env's returns are min-max normalised over every compared run on that env (0: the worst run there, 1: the best),
    since returns of different envs are not on one scale. An env whose finished runs all have the same final return
    (one run, or tied runs) has no scale to normalise by: it is left out, with a warning naming it, rather than
    scored 0, which no run measured.

    Raises:
        UserError: no finished run, or several envs and none with two different final returns.
    """
    settings = [s for s in group(read_run(p) for p in find_runs(paths)) if s.returns]
    if not settings:
        raise UserError("no finished run (eval.json) to profile", "let the runs finish, then compare them")
    envs = sorted({s.env for s in settings})
    scale: dict[str, tuple[float, float]] = {}
    left_out: dict[str, str] = {}
    for env in envs:
        on_env = [x for s in settings if s.env == env for x in s.returns]
        if len(envs) == 1:
            scale[env] = (0.0, 1.0)
        elif min(on_env) < max(on_env):
            scale[env] = (min(on_env), max(on_env))
        else:
            left_out[env] = (f"its one finished run ({on_env[0]:g})" if len(on_env) == 1 else
                             f"its {len(on_env)} finished runs all scored {on_env[0]:g}")
    if left_out:
        _warn_left_out(left_out)
    if not scale:
        raise UserError("no env has finished runs with different final returns, so no score can be normalised "
                        f"({'; '.join(f'{env}: {why}' for env, why in left_out.items())})",
                        "run more seeds on each env, or profile one env at a time (its raw returns)")
    by_method: dict[str, list[np.ndarray]] = {}
    for s in settings:
        if s.env in scale:
            low, high = scale[s.env]
            by_method.setdefault(s.method, []).append((np.asarray(s.returns) - low) / (high - low))
    scores = np.concatenate([x for per_env in by_method.values() for x in per_env])
    low, high = float(scores.min()), float(scores.max())
    if low == high:  # one env, every run tied: thresholds around that return, so the step shows where it is
        low, high = low - max(abs(low) * 0.1, 1.0), high + max(abs(high) * 0.1, 1.0)
    taus = np.linspace(low, high, points)
    return [(m, performance_profile(per_env, taus)) for m, per_env in by_method.items()], len(envs) > 1, left_out


def _warn_left_out(left_out: dict[str, str]) -> None:
    for env, why in left_out.items():
        warnings.warn(f"the performance profile leaves out {env}: {why}, so its returns have no range to normalise "
                      "by (a score there would read 0 for every run, measured by nothing); run more seeds on it "
                      "to include it", UserWarning, stacklevel=3)


def markdown(rows: Sequence[dict[str, Any]], digits: int = 2) -> str:
    """A markdown table of :func:`compare`'s rows."""
    lines = ["| setting | seeds | mean | median | IQM [95% CI] | min | max |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        seeds = f"{r['finished']}" + (f" ({r['runs'] - r['finished']} unfinished)" if r["runs"] > r["finished"] else "")
        if not r["finished"]:
            lines.append(f"| {r['setting']} | {seeds} | - | - | - | - | - |")
            continue
        f = f"{{:,.{digits}f}}"
        lines.append(f"| {r['setting']} | {seeds} | {f.format(r['mean'])} | {f.format(r['median'])} | "
                     f"{f.format(r['iqm'])} [{f.format(r['iqm_low'])}, {f.format(r['iqm_high'])}] | "
                     f"{f.format(r['min'])} | {f.format(r['max'])} |")
    return "\n".join(lines)
