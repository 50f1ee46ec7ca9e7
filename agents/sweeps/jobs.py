"""What a job is and what became of it: the words every backend of :mod:`gymsuite.agents.sweeps.executor` shares.

:mod:`~gymsuite.agents.sweeps.executor` (the dispatcher and the local backends) and
:mod:`~gymsuite.agents.sweeps.distributed` (the Ray backend) both build on this module, and ``sweep`` and ``tune``
describe their work with it. :func:`call` is what runs a job wherever it runs: in this process, in a pool worker or
in a Ray task.
"""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gymsuite.common.errors import UserError
from gymsuite.envs.specs import describe_error

STOP_GRACE_S = 120.0  # how long running jobs get to write their checkpoint after a stop, before they are killed
Called = tuple[dict[str, Any] | None, str, str, float]  # what ``call`` returns: result, error, node, seconds


@dataclass(frozen=True)
class Job:
    """One unit of work: ``fn(*args)`` returning a dict (``"interrupted": True`` when a signal stopped it)."""

    key: str  # unique within one call: a run directory's name, "trial 12"
    fn: Callable[..., dict[str, Any]]
    args: tuple[Any, ...] = ()
    cpus: float = 1.0  # what the job asks of a Ray node (the local pool runs one job per worker)
    gpus: float = 0.0


@dataclass
class Outcome:
    """What became of one job."""

    job: Job
    result: dict[str, Any] | None = None  # fn's return value; None when it raised or was lost
    error: str = ""  # one line: the exception, or why the worker was lost
    lost: bool = False  # the worker (or node) died, ``retries`` times over
    node: str = ""  # where it ran last: host name (and Ray node id)
    attempts: int = 1
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.result is not None and not self.result.get("interrupted", False)

    @property
    def interrupted(self) -> bool:
        return self.result is not None and bool(self.result.get("interrupted", False))


OnDone = Callable[[Outcome], None]


@dataclass
class Report:
    """Every finished, failed or interrupted job's outcome, in the order they ended; ``signum`` the stop signal."""

    outcomes: list[Outcome] = field(default_factory=list)
    signum: int = 0  # SIGINT or SIGTERM when a stop ended the call early, else 0

    @property
    def stopped(self) -> bool:
        return bool(self.signum)

    def record(self, outcome: Outcome, on_done: OnDone | None) -> bool:
        """Keep an ended job's outcome and hand it to ``on_done``; True when it stops the rest: a job interrupted by a
        signal sent to it directly (``signum`` is then the signal its result names, SIGINT when it names none)."""
        self.outcomes.append(outcome)
        if on_done is not None:
            on_done(outcome)
        if not outcome.interrupted or self.stopped:
            return False
        self.signum = int((outcome.result or {}).get("signum") or signal.SIGINT)
        return True


class JobQueue:
    """The jobs still to start: reruns first, then the next job of the source, pulled only when a slot is free.

    Pulling lazily lets a source decide each job from the outcomes so far (``tune`` asks Optuna for the next trial
    only when a worker can take it), and a source that ends while jobs run is simply done.
    """

    def __init__(self, jobs: Iterable[Job]) -> None:
        self._source: Iterator[Job] = iter(jobs)
        self._again: list[Job] = []

    def rerun(self, job: Job) -> None:
        """Put a job whose worker died first in line."""
        self._again.insert(0, job)

    def next(self) -> Job | None:
        """The next job to start, or None when there is none."""
        return self._again.pop(0) if self._again else next(self._source, None)


def call(job: Job) -> Called:
    """Run one job where this is called: (result, error, node, seconds). A raised exception becomes ``error``."""
    start = time.monotonic()
    node = socket.gethostname()
    try:
        result = job.fn(*job.args)
    except UserError as err:  # the user's mistake: its message and fix, as a command prints them, no code location
        return None, str(err), node, time.monotonic() - start
    except Exception as err:  # the job's own failure: reported, never retried; where it happened (a user's file)
        return None, describe_error(err, locate=True), node, time.monotonic() - start
    return result, "", node, time.monotonic() - start
