"""The run-directory layout, in one place.

A run directory holds::

    config.yaml          everything needed to rerun (gymsuite.agents.run.config.RunConfig)
    model.zip            the final model, loadable with plain SB3 (PPO.load(...))
    best_model.zip       the best model seen by periodic evaluation
    vecnormalize.npz     observation/reward statistics, when normalize: true (gymsuite.agents.files.normstats;
                         older runs: vecnormalize.pkl, pickled, loaded only with --trust-pickle)
    eval.json            {"mean_return", "std_return", "episodes", ...}
    logs/                TensorBoard events and progress.csv
    aux.pt               the auxiliary loss's decoder and optimiser, when aux is set
    (gymsuite.agents.run.auxiliary)
    domain.pt            the domain classifier and its optimiser, when domain_adversarial is set
    (gymsuite.agents.run.domain)
    compress.json        a compressed run's report beside its teacher's (gymsuite.agents.run.compressing)
    masks.npz            a pruned run's masks (gymsuite.agents.files.maskfile)
    checkpoints/         ckpt_<steps>.zip (+ ckpt_<steps>_vecnormalize.npz, _replay.npz, _state.npz, _aux.pt,
                         _domain.pt)
    videos/              mp4 files, when asked

A checkpoint's zip is written last, so ``ckpt_<steps>.zip`` marks a complete checkpoint; a resume takes the
newest one whose zip and side files all load (:func:`newest_loadable`: a disk error or an edit can still damage
one). A kill can leave ``gymsuite.common.files.atomic_write``'s temporaries (``.<name>.<random><suffix>``) and the parts
of a checkpoint whose zip was never written or already pruned; :meth:`RunDir.clean` removes them.
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.logger import Logger, configure

from gymsuite.common.datafiles import DamagedFileError
from gymsuite.common.errors import UserError
from gymsuite.common.files import disk_errors

RUNS_ROOT = Path("runs")
NORM_SUFFIX = "_vecnormalize.npz"  # a checkpoint's normalisation statistics
LEGACY_NORM_SUFFIX = "_vecnormalize.pkl"  # the same, pickled, in runs of older versions (--trust-pickle only)
AUX_SUFFIX = "_aux.pt"  # a checkpoint's auxiliary decoder and optimiser (gymsuite.agents.run.auxiliary)
DOMAIN_SUFFIX = "_domain.pt"  # a checkpoint's domain classifier and optimiser (gymsuite.agents.run.domain)
REPLAY_SUFFIX = "_replay.npz"  # an off-policy checkpoint's replay buffer (gymsuite.agents.files.replayfile)
LEGACY_REPLAY_SUFFIX = "_replay.pkl"  # the same, pickled, in runs of older versions (--trust-pickle only)
_CKPT = re.compile(r"^ckpt_(\d+)\.zip$")
_CKPT_PART = re.compile(r"^ckpt_(\d+)[._]")
# atomic_write's temporaries: "." + the target's stem + "." + mkstemp's 8 random characters + its suffix.
T = TypeVar("T")
_TEMPORARY = re.compile(r"^\.[^.].*\.[a-z0-9_]{8}(\.[A-Za-z0-9]+)?$")


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
        return self.root / "vecnormalize.npz"

    @property
    def legacy_vecnormalize(self) -> Path:
        """The pickled statistics of runs before :mod:`gymsuite.agents.files.normstats` (``--trust-pickle`` only)."""
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

    @property
    def aux(self) -> Path:
        return self.root / "aux.pt"

    @property
    def domain(self) -> Path:
        return self.root / "domain.pt"

    def checkpoint(self, steps: int, suffix: str = ".zip") -> Path:
        """``checkpoints/ckpt_<steps><suffix>``; suffixes: ``.zip``, :data:`NORM_SUFFIX`, :data:`REPLAY_SUFFIX`..."""
        return self.checkpoints / f"ckpt_{steps}{suffix}"

    def checkpoint_steps(self) -> list[int]:
        """Step counts of the checkpoints whose zip was written, newest first."""
        if not self.checkpoints.is_dir():
            return []
        return sorted((int(m.group(1)) for p in self.checkpoints.iterdir() if (m := _CKPT.match(p.name))),
                      reverse=True)

    def latest_checkpoint(self) -> int | None:
        """Step count of the newest checkpoint whose zip was written, or None."""
        return next(iter(self.checkpoint_steps()), None)

    def clean(self) -> list[Path]:
        """Delete what a killed run left behind; return the deleted paths.

        That is every ``atomic_write`` temporary in the run's folders, and every
        ``checkpoints/ckpt_<steps>*`` file without its ``ckpt_<steps>.zip`` (a checkpoint cut
        off before its zip was written, or the rest of one pruned halfway).
        """
        removed = []
        for folder in (self.root, self.logs, self.checkpoints, self.videos):
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                if path.is_file() and _TEMPORARY.match(path.name):
                    removed.append(path)
        if self.checkpoints.is_dir():
            for path in self.checkpoints.iterdir():
                m = _CKPT_PART.match(path.name)
                if m and path.is_file() and not self.checkpoint(int(m.group(1))).is_file():
                    removed.append(path)
        for path in removed:
            path.unlink(missing_ok=True)
        return removed

    def create(self, overwrite: bool = False) -> None:
        """Make the directory tree; an existing run is refused unless ``overwrite``.

        Raises:
            UserError: an existing run, a file where the directory (or a folder above it) should
                be, or a disk that cannot be written.
        """
        blocking = next((p for p in (self.root, *self.root.parents) if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            raise UserError(f"cannot create the run directory {self.root}: {blocking} is a file",
                            "choose another --run-dir, or move the file away")
        if self.root.exists() and any(self.root.iterdir()):
            if not overwrite:
                raise UserError(f"run directory {self.root} already exists",
                                "pass --resume to continue it, --overwrite to replace it, or another --run-dir")
            shutil.rmtree(self.root)
        with disk_errors(self.root):
            for path in (self.root, self.logs, self.checkpoints):
                path.mkdir(parents=True, exist_ok=True)

    def is_run(self) -> bool:
        return self.config.is_file()


def log_to(model: BaseAlgorithm, run: RunDir | None) -> None:
    """Where ``model``'s SB3 logger writes: ``run``'s ``logs/`` (``progress.csv`` and TensorBoard events) or, for a
    model trained outside a run directory (meta-learning's inner loops, compression's fine-tuning), nowhere.

    SB3 configures its own logger at ``learn()`` when none is set, and that one makes an empty ``SB3-<date>`` folder
    in the temp dir every time, with nothing ever written in it: one per inner loop of a meta-learning run.
    """
    model.set_logger(configure(str(run.logs), ["csv", "tensorboard"]) if run is not None
                     else Logger(folder=None, output_formats=[]))


def safe_env_name(env: str) -> str:
    """An env id as part of a directory name: ``ALE/Pong-v5`` -> ``ALE_Pong-v5``, ``pkg.mod:Class`` -> ``Class``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", env.rsplit(":", 1)[-1]).strip("_")


def default_run_dir(algo: str, env: str, seed: int) -> Path:
    """``runs/<algo>-<env>-s<seed>-<timestamp>``, with the env made path-safe."""
    return RUNS_ROOT / f"{algo}-{safe_env_name(env)}-s{seed}-{time.strftime('%Y%m%d-%H%M%S')}"


def newest_loadable(run: RunDir, load: Callable[[int], T]) -> T:
    """``load(steps)`` of the newest checkpoint of ``run`` that loads whole: its zip and every side file.

    A checkpoint whose file is damaged (``load`` raises :class:`~gymsuite.common.datafiles.DamagedFileError`: cut short,
    garbage, pickled objects) is passed over for the one before it, and a note on stderr says which and why. Any
    other refusal (a pickle that needs ``--trust-pickle``, a config that does not fit) holds for every checkpoint
    and is raised at once.

    Raises:
        UserError: every checkpoint is damaged (each named with its problem), or there is none.
    """
    damaged: list[tuple[int, DamagedFileError]] = []
    for steps in run.checkpoint_steps():
        try:
            loaded = load(steps)
        except DamagedFileError as err:
            damaged.append((steps, err))
            continue
        for bad, problem in damaged:
            print(f"note: checkpoint ckpt_{bad} is damaged: {problem.message}; resuming from the earlier "
                  f"{run.checkpoint(steps)} ({steps} steps) instead", file=sys.stderr)
        return loaded
    if not damaged:
        raise UserError(f"{run.root} has no checkpoint to resume from", "train it again with --overwrite")
    listed = "\n".join(f"  ckpt_{steps}: {err.message}" + (f"; fix: {err.hint}" if err.hint else "")
                       for steps, err in damaged)
    raise UserError(f"every checkpoint of {run.root} is damaged:\n{listed}",
                    "follow one checkpoint's fix above, or train the run again with --overwrite")
