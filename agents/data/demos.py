"""Demonstrations: the one file format, with its checks, saving and loading.

The course's imitation-learning setting: the actor can interact with the environment
but receives no reward; instead it has an expert's demonstrations. This module is the
one place that reads and writes them; :mod:`gymsuite.agents.data.recording` makes them (from an
expert or a person playing) and :mod:`gymsuite.agents.saved.experts` loads the experts.

File format (``.npz``, read with ``np.load(..., allow_pickle=False)``: plain arrays, no
pickled objects). E episodes of T_i steps each, N = sum_i T_i transitions, O the
observation shape and A the action shape (``()`` for ``Discrete``)::

    obs         (N + E, *O)  every episode's observations, including its final one (T_i + 1 each)
    acts        (N, *A)      the action taken after each observation but the final one
    rews        (N,) float32 the environment's own reward (informative; learners never use it)
    lengths     (E,) int64   T_i
    terminated  (E,) bool    the episode ended in a terminal state of the task
    truncated   (E,) bool    the episode was cut by a time limit
    meta        ()  str      JSON: {"format": "gymsuite-demos", "version": 1, "env": ENV,
                             "observation_space": {...}, "action_space": {...}, "source": ...}

Spaces are described as ``{"type": "Box", "shape": [4], "dtype": "float32"}``,
``{"type": "Discrete", "n": 2, "start": 0}``, ``{"type": "MultiDiscrete", "nvec": [...]}`` or
``{"type": "MultiBinary", "n": ...}``; :func:`load_demos` checks them against the env's.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces
from imitation.data import rollout, types

from gymsuite.common.datafiles import DamagedFileError, read_npz
from gymsuite.common.errors import UserError
from gymsuite.common.files import atomic_write, free_space
from gymsuite.common.spaces import describe_space, show_space

FORMAT, VERSION = "gymsuite-demos", 1
_ARRAYS = ("obs", "acts", "rews", "lengths", "terminated", "truncated")
_RECORD_HINT = "record demonstrations with: gymsuite collect-demos RUN_DIR --episodes 10 --out FILE"


@dataclass(frozen=True)
class Demos:
    """Expert episodes in the file format's layout (see the module docstring for shapes)."""

    obs: np.ndarray
    acts: np.ndarray
    rews: np.ndarray
    lengths: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    env: str
    observation_space: dict[str, Any]
    action_space: dict[str, Any]
    source: str = ""

    def __post_init__(self) -> None:
        n, e = int(self.lengths.sum()), len(self.lengths)
        problems = []
        if e == 0 or (self.lengths < 1).any():
            problems.append("every file needs at least one episode of at least one step")
        if len(self.obs) != n + e:
            problems.append(f"obs has {len(self.obs)} rows, lengths say {n} + {e}")
        if len(self.acts) != n or len(self.rews) != n:
            problems.append(f"acts/rews have {len(self.acts)}/{len(self.rews)} rows, lengths say {n}")
        if self.terminated.shape != (e,) or self.truncated.shape != (e,):
            problems.append("terminated/truncated need one flag per episode")
        if problems:
            raise UserError(f"inconsistent demonstrations: {'; '.join(problems)}", _RECORD_HINT)

    @property
    def n_episodes(self) -> int:
        return len(self.lengths)

    @property
    def n_transitions(self) -> int:
        return int(self.lengths.sum())

    def returns(self) -> np.ndarray:
        """Each episode's undiscounted environment return, ``(E,)``."""
        return np.add.reduceat(self.rews, np.r_[0, np.cumsum(self.lengths)[:-1]]).astype(np.float64)

    def head(self, episodes: int) -> Demos:
        """The first ``episodes`` episodes (all of them when ``episodes`` is 0 or too large)."""
        if episodes <= 0 or episodes >= self.n_episodes:
            return self
        n = int(self.lengths[:episodes].sum())
        return replace(self, obs=self.obs[: n + episodes], acts=self.acts[:n], rews=self.rews[:n],
                       lengths=self.lengths[:episodes], terminated=self.terminated[:episodes],
                       truncated=self.truncated[:episodes])

    def to_trajectories(self) -> list[types.TrajectoryWithRew]:
        """imitation's trajectories; ``terminal`` is ``terminated`` (a time limit is not a terminal state)."""
        obs_ends = np.cumsum(self.lengths + 1)
        act_ends = np.cumsum(self.lengths)
        return [types.TrajectoryWithRew(obs=self.obs[oe - t - 1: oe], acts=self.acts[ae - t: ae], infos=None,
                                        terminal=bool(term), rews=self.rews[ae - t: ae].astype(np.float32))
                for t, oe, ae, term in zip(self.lengths, obs_ends, act_ends, self.terminated, strict=True)]

    def to_transitions(self, done_at_end: bool = False) -> types.Transitions:
        """Flattened ``(obs, acts, next_obs, dones)`` for imitation's trainers.

        Args:
            done_at_end: mark every episode's last transition done, truncated or not, as
                imitation's ``BufferingWrapper`` marks the learner's (GAIL/AIRL compare the two).
        """
        trajs = self.to_trajectories()
        if done_at_end:
            trajs = [replace(t, terminal=True) for t in trajs]
        return rollout.flatten_trajectories(trajs)

    @classmethod
    def from_trajectories(cls, trajs: Sequence[types.Trajectory], truncated: Sequence[bool], env: str,
                          observation_space: spaces.Space, action_space: spaces.Space,
                          source: str = "") -> Demos:
        """Build from imitation trajectories (``truncated[i]``: episode i ended at a time limit)."""
        rews = [np.asarray(getattr(t, "rews", np.zeros(len(t))), dtype=np.float32) for t in trajs]
        trunc = np.asarray(truncated, dtype=bool)
        return cls(obs=np.concatenate([np.asarray(t.obs) for t in trajs]),
                   acts=np.concatenate([np.asarray(t.acts) for t in trajs]), rews=np.concatenate(rews),
                   lengths=np.array([len(t) for t in trajs], dtype=np.int64),
                   terminated=np.array([bool(t.terminal) for t in trajs]) & ~trunc, truncated=trunc, env=env,
                   observation_space=describe_space(observation_space), action_space=describe_space(action_space),
                   source=source)

    def check_spaces(self, observation_space: spaces.Space, action_space: spaces.Space, env: str,
                     where: str = "the demonstrations") -> None:
        """Raise a :class:`UserError` when the recorded spaces or actions do not fit this env's."""
        for kind, recorded, space in (("observation", self.observation_space, observation_space),
                                      ("action", self.action_space, action_space)):
            want = describe_space(space)
            ignore = {"dtype"} if kind == "observation" else set()  # observations are cast on load
            if {k: v for k, v in recorded.items() if k not in ignore} != {k: v for k, v in want.items()
                                                                       if k not in ignore}:
                raise UserError(f"{where} were recorded on {self.env} with {kind} space {show_space(recorded)}, "
                                f"but {env} has {show_space(describe_space(space))}",
                                f"pass the --env they were recorded on ({self.env}), or record new ones on {env}: "
                                + _RECORD_HINT.split(': ', 1)[1])
        if isinstance(action_space, spaces.Discrete):
            low, high = action_space.start, action_space.start + action_space.n
            if self.acts.size and (self.acts.min() < low or self.acts.max() >= high):
                raise UserError(f"{where} hold actions outside {env}'s action space {action_space} "
                                f"(range {self.acts.min()}..{self.acts.max()})", _RECORD_HINT)


def pad_absorbing(demos: Demos, steps: int, rng: np.random.Generator, action_space: spaces.Space) -> Demos:
    """Append ``steps`` absorbing transitions to every *terminated* episode, which then ends truncated.

    The absorbing state repeats the final observation, takes random actions and has
    reward 0: what :class:`gymsuite.envs.wrappers.AbsorbAfterTermination` shows the learner, so
    expert and learner data describe the same task (see that class for why).
    """
    parts_obs, parts_acts, parts_rews, lengths = [], [], [], []
    for traj, term in zip(demos.to_trajectories(), demos.terminated, strict=True):
        pad = steps if term else 0
        obs = np.asarray(traj.obs)  # (T + 1, *O): these demos hold arrays, never dict observations
        parts_obs.append(np.concatenate([obs, np.repeat(obs[-1:], pad, axis=0)]))
        extra = np.array([action_space.sample() for _ in range(pad)], dtype=demos.acts.dtype)
        parts_acts.append(np.concatenate([traj.acts, extra.reshape((pad, *demos.acts.shape[1:]))]))
        parts_rews.append(np.concatenate([traj.rews, np.zeros(pad, dtype=np.float32)]))
        lengths.append(len(traj) + pad)
    return replace(demos, obs=np.concatenate(parts_obs), acts=np.concatenate(parts_acts),
                   rews=np.concatenate(parts_rews), lengths=np.array(lengths, dtype=np.int64),
                   terminated=np.zeros_like(demos.terminated), truncated=demos.truncated | demos.terminated)


def save_demos(path: str | Path, demos: Demos) -> Path:
    """Write ``demos`` to ``path`` atomically (any suffix; ``.npz`` is customary), and checked: the file
    written must read back (every member's checksum, the episode lengths) before it replaces ``path``.

    Raises:
        UserError: a full or read-only disk, or a file that does not read back; ``path`` is then unchanged.
    """
    meta = {"format": FORMAT, "version": VERSION, "env": demos.env, "observation_space": demos.observation_space,
            "action_space": demos.action_space, "source": demos.source, "episodes": demos.n_episodes,
            "transitions": demos.n_transitions, "created": time.strftime("%Y-%m-%d %H:%M:%S")}
    arrays = {name: getattr(demos, name) for name in _ARRAYS}
    out = Path(path)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would append ".npz" to a name
            np.savez_compressed(f, meta=np.array(json.dumps(meta)), **arrays)
        problem = _unreadable(tmp, demos.lengths)
        if problem is not None:
            raise UserError(f"{out} was not written: the file written does not read back ({problem}; "
                            f"{free_space(out)})", "free some disk space, or write elsewhere with --out")

    atomic_write(out, write)
    return out


def _unreadable(file: Path, lengths: np.ndarray) -> str | None:
    """What is wrong with the demonstrations file just written (``lengths``: its episodes'), or None."""
    try:
        data = read_npz(file, "a demonstrations file")  # every member read whole: zipfile checks each one's CRC
        json.loads(str(data["meta"]))
        same = np.array_equal(data["lengths"], lengths)
    except DamagedFileError as err:
        return err.problem
    except (KeyError, ValueError) as err:
        return f"no readable meta or lengths ({err})"
    return None if same else "its episode lengths differ from those recorded"


def load_demos(path: str | Path, observation_space: spaces.Space | None = None,
               action_space: spaces.Space | None = None, env: str | None = None) -> Demos:
    """Read a demonstrations file; with spaces given, check that they fit (see :meth:`Demos.check_spaces`).

    Raises:
        UserError: a missing, corrupt or foreign file, or one recorded on other spaces.
    """
    file = Path(path)
    if not file.is_file():
        raise UserError(f"demonstrations file {str(path)!r} does not exist", _RECORD_HINT)
    data = read_npz(file, "a .npz demonstrations file", _RECORD_HINT)
    missing = [k for k in ("meta", *_ARRAYS) if k not in data]
    if missing:
        raise UserError(f"{file} is not a gymsuite demonstrations file (missing {', '.join(missing)})", _RECORD_HINT)
    try:
        meta = json.loads(str(data["meta"]))
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise DamagedFileError(file, "a readable demonstrations file", "its meta array is not a JSON mapping",
                               _RECORD_HINT)
    arrays = {k: data[k] for k in _ARRAYS}
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise UserError(f"{file} has format {meta.get('format')!r} version {meta.get('version')!r}; "
                        f"this gymsuite reads {FORMAT!r} version {VERSION}", _RECORD_HINT)
    demos = Demos(obs=arrays["obs"], acts=arrays["acts"], rews=arrays["rews"].astype(np.float32),
                  lengths=arrays["lengths"].astype(np.int64), terminated=arrays["terminated"].astype(bool),
                  truncated=arrays["truncated"].astype(bool), env=str(meta.get("env")),
                  observation_space=meta["observation_space"], action_space=meta["action_space"],
                  source=str(meta.get("source", "")))
    if observation_space is not None and action_space is not None:
        demos.check_spaces(observation_space, action_space, env or demos.env, where=f"the demonstrations in {file}")
        if isinstance(observation_space, spaces.Box):
            demos = replace(demos, obs=demos.obs.astype(observation_space.dtype, copy=False))
    return demos
