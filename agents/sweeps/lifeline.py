"""A worker process's life bound to its driver's: when the driver dies (``kill -9``, a crash), its workers end too.

Without this, a local pool's worker whose driver was killed finishes its run, then blocks for good on the pool's
pipe, holding its memory. :func:`follow`, called in the worker as it starts, ends it two ways:

- Linux: ``prctl(PR_SET_PDEATHSIG, SIGTERM)``, the kernel's signal when the parent dies. The kernel means the
  parent *thread*, the one that started the worker: the executor asks for it only when that is the driver's main
  thread, which ends only with the driver;
- everywhere: a watchdog thread that polls ``os.getppid()`` (a worker whose parent died is given another parent)
  and then sends the same SIGTERM itself, unless the kernel already did.

SIGTERM is the existing stop path: in a run's training (``StopSignals``) it writes a checkpoint and the job
returns ``interrupted``; outside one, SIGTERM's default action ends the worker. Once no job is running (or
``jobs.STOP_GRACE_S`` after the driver died) the watchdog ends the worker, whose pool's pipes lead nowhere now. The
same command continues the work: each run resumes from its checkpoint.

Ray's workers are not the driver's children and do not use this: Ray ends a job's workers when its driver dies
(see ``distributed.py``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator

from gymsuite.agents.sweeps.jobs import STOP_GRACE_S

POLL_S = 1.0  # how often the watchdog looks at its parent
PR_SET_PDEATHSIG = 1  # <sys/prctl.h>
_idle = threading.Event()  # set while no job runs in this process
_idle.set()


@contextlib.contextmanager
def running() -> Iterator[None]:
    """Around a job in a worker: the watchdog waits for it (its checkpoint) before ending the process."""
    _idle.clear()
    try:
        yield
    finally:
        _idle.set()


def parent_death_signal(signum: int) -> bool:
    """Ask the kernel for ``signum`` when this process's parent (thread) dies; False where it cannot (not Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def follow(driver: int, kernel: bool = True) -> None:
    """In a worker started by process ``driver``: end this process when ``driver`` dies (see the module's text).

    ``kernel``: also ask Linux for SIGTERM at the parent's death; only when the thread that starts this worker
    lives as long as the driver (its main thread).
    """
    signalled = kernel and parent_death_signal(signal.SIGTERM)
    if os.getppid() != driver:  # the driver died before the kernel was asked: nothing of it is left to do
        os._exit(1)
    threading.Thread(target=_watch, args=(driver, signalled), name="gymsuite-lifeline", daemon=True).start()


def _watch(driver: int, signalled: bool) -> None:
    while os.getppid() == driver:
        time.sleep(POLL_S)
    if not signalled and not _idle.is_set():
        os.kill(os.getpid(), signal.SIGTERM)  # the job's training checkpoints and returns
    _idle.wait(STOP_GRACE_S)
    os._exit(128 + signal.SIGTERM)
