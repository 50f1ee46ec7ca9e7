"""The run-directory layout, in one place.

A run directory holds::

    config.yaml          everything needed to rerun (agents.config.RunConfig)
    model.zip            the final model, loadable with plain SB3 (PPO.load(...))
    best_model.zip       the best model seen by periodic evaluation
    vecnormalize.pkl     observation/reward statistics, when normalize: true
    eval.json            {"mean_return", "std_return", "episodes", ...}
    logs/                TensorBoard events and progress.csv
    checkpoints/         ckpt_<steps>.zip (+ ckpt_<steps>_vecnormalize.pkl, replay buffer)
    videos/              mp4 files, when asked
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from envs.errors import UserError

RUNS_ROOT = Path("runs")
_CKPT = re.compile(r"^ckpt_(\d+)\.zip$")


@dataclass(frozen=True)
class RunDir:
    """Paths of one run directory (nothing is created until :meth:`create`)."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def model(self) -> Path:
        return self.root / "model.zip"

    @property
    def best_model(self) -> Path:
        return self.root / "best_model.zip"

    @property
    def vecnormalize(self) -> Path:
        return self.root / "vecnormalize.pkl"

    @property
    def eval(self) -> Path:
        return self.root / "eval.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def videos(self) -> Path:
        return self.root / "videos"

    @property
    def curiosity(self) -> Path:
        return self.root / "curiosity.pt"

    def checkpoint(self, steps: int, suffix: str = ".zip") -> Path:
        """``checkpoints/ckpt_<steps><suffix>``; suffixes: ``.zip``, ``_vecnormalize.pkl``, ``_replay.pkl``."""
        return self.checkpoints / f"ckpt_{steps}{suffix}"

    def latest_checkpoint(self) -> int | None:
        """Step count of the newest complete checkpoint, or None."""
        if not self.checkpoints.is_dir():
            return None
        steps = [int(m.group(1)) for p in self.checkpoints.iterdir() if (m := _CKPT.match(p.name))]
        return max(steps, default=None)

    def create(self, overwrite: bool = False) -> None:
        """Make the directory tree; an existing run is refused unless ``overwrite``."""
        if self.root.exists() and any(self.root.iterdir()):
            if not overwrite:
                raise UserError(f"run directory {self.root} already exists",
                                "pass --resume to continue it, --overwrite to replace it, or another --run-dir")
            shutil.rmtree(self.root)
        for path in (self.root, self.logs, self.checkpoints):
            path.mkdir(parents=True, exist_ok=True)

    def is_run(self) -> bool:
        return self.config.is_file()


def default_run_dir(algo: str, env: str, seed: int) -> Path:
    """``runs/<algo>-<env>-s<seed>-<timestamp>``, with the env made path-safe."""
    safe_env = re.sub(r"[^A-Za-z0-9_.-]+", "_", env.rsplit(":", 1)[-1]).strip("_")
    return RUNS_ROOT / f"{algo}-{safe_env}-s{seed}-{time.strftime('%Y%m%d-%H%M%S')}"


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    A crash or Ctrl-C mid-write leaves the previous ``path`` intact, never half a file.
    The temporary name keeps ``path``'s suffix because SB3's ``save`` appends ``.zip``
    to names without it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_yaml(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(yaml.safe_dump(data, sort_keys=False)))


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2) + "\n"))
