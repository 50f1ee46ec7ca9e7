"""Run many independent jobs (a sweep's runs, a study's trials): here, in a local pool, or on a Ray cluster.

One place decides where a job runs; ``sweep`` and ``tune`` only say what each job is. A job is a module-level
function and its arguments (picklable), returning a small dict. Backends:

- ``workers <= 1`` and no Ray: one job after another in this process;
- ``workers > 1``: a pool of that many spawned worker processes (one torch thread each is the job's business);
- ``ray_address``: tasks on a Ray cluster (``agents/sweeps/distributed.py``; Ray is imported only there).

What a job is and what became of it (:class:`Job`, :class:`Outcome`, :class:`Report`) lives in ``jobs.py``, below
both this module and the Ray backend.

Stopping: Ctrl-C or SIGTERM to this process stops every backend the same way. No job starts after it; each running
job is sent SIGTERM once (the training pipeline turns it into a checkpoint and ``interrupted: True``); this returns
when they have stopped, with ``Report.signum`` set. A job that returns ``{"interrupted": True, ...}`` by itself
(it was signalled directly) stops the rest the same way.

A worker that dies (killed, out of memory) loses only its job, which runs again up to ``retries`` times and is then
reported with ``lost=True``; a job that raises is reported with its error and not retried (it would raise again).
A worker whose driver dies ends too (``lifeline``; a job in training checkpoints first), so a killed command leaves
no process behind and the same command continues.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from gymsuite.agents.sweeps import distributed, lifeline
from gymsuite.agents.sweeps.jobs import STOP_GRACE_S, Called, Job, JobQueue, OnDone, Outcome, Report, call
from gymsuite.common.signals import StopSignals

__all__ = ["STOP_GRACE_S", "Called", "Job", "JobQueue", "OnDone", "Outcome", "Report", "call", "check_ray_address",
           "run_jobs"]


def run_jobs(jobs: Iterable[Job], workers: int = 1, ray_address: str | None = None,
             on_done: OnDone | None = None, retries: int = 2) -> Report:
    """Run every job, at most ``workers`` at a time; ``on_done(outcome)`` is called here as each one ends.

    ``jobs`` is consumed lazily (:class:`JobQueue`): the next job is taken when a slot frees, after the
    ``on_done`` of the job that freed it.

    ``ray_address``: ``"auto"``, ``"local"`` (a private Ray instance for this call) or ``host:port``; then
    ``workers`` caps how many run at once (0: as many as the cluster's CPUs allow).

    Raises:
        UserError: Ray asked for but not installed, or its address unreachable (before any job starts).
    """
    if ray_address:
        return distributed.run_on_ray(JobQueue(jobs), ray_address, workers, on_done, retries)
    if workers <= 1:
        return _run_here(JobQueue(jobs), on_done)
    return _run_pool(JobQueue(jobs), workers, on_done, retries)


def check_ray_address(address: str | None) -> None:
    """Before a command writes anything: for an address, Ray installed and a cluster answering (``distributed``).

    Raises:
        UserError: see :func:`gymsuite.agents.sweeps.distributed.check_address`.
    """
    if address:
        distributed.check_address(address)


def _outcome(job: Job, called: Called, attempts: int = 1) -> Outcome:
    result, error, node, seconds = called
    return Outcome(job, result, error, node=node, attempts=attempts, seconds=seconds)


def _run_here(queue: JobQueue, on_done: OnDone | None) -> Report:
    report = Report()
    with StopSignals() as stop:
        while (job := queue.next()) is not None:
            try:
                outcome = _outcome(job, call(job))
            except KeyboardInterrupt:  # between two jobs' training loops (the pipeline catches the rest)
                report.signum = stop.interrupted()
                break
            if report.record(outcome, on_done):
                report.signum = stop.signum or report.signum
                break
    return report


def _start_worker(driver: int, kernel: bool) -> None:
    """A worker's set-up: it ignores the terminal's Ctrl-C (the driver sends each running job one SIGTERM instead)
    and ends when its driver dies (``lifeline``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lifeline.follow(driver, kernel)


def _work(job: Job) -> Called:
    """What a worker runs: the job, watched by its lifeline."""
    with lifeline.running():
        return call(job)


def _slot() -> ProcessPoolExecutor:
    # One single-process pool per slot: when a worker dies, ProcessPoolExecutor fails every job of its pool and
    # terminates its other workers, so a shared pool would lose the dead job's neighbours too. Its worker is started
    # by the thread that submits to it, this one: Linux's parent-death signal follows that thread, so it is asked for
    # only when that is the main thread, which lives as long as this process.
    main = threading.current_thread() is threading.main_thread()
    return ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"), initializer=_start_worker,
                               initargs=(os.getpid(), main))


def _run_pool(queue: JobQueue, workers: int, on_done: OnDone | None, retries: int) -> Report:
    """``workers`` slots, each a worker process reused job after job and replaced when it dies."""
    report = Report()
    attempts: dict[str, int] = {}
    slots: list[ProcessPoolExecutor | None] = [None] * workers
    running: dict[Future[Called], tuple[Job, int]] = {}  # future -> (job, slot)

    def fill() -> None:
        busy = {slot for _, slot in running.values()}
        for i in (i for i in range(workers) if i not in busy):
            job = None if report.stopped else queue.next()
            if job is None:
                return
            attempts[job.key] = attempts.get(job.key, 0) + 1
            slots[i] = slots[i] or _slot()
            running[slots[i].submit(_work, job)] = (job, i)  # type: ignore[union-attr]

    def finish(future: Future[Called], job: Job, i: int) -> None:
        try:
            outcome = _outcome(job, future.result(), attempts[job.key])
        except BrokenProcessPool:  # this slot's worker died, and only this job with it
            slots[i].shutdown(wait=False)  # type: ignore[union-attr]
            slots[i] = None
            if attempts[job.key] <= retries and not report.stopped:
                queue.rerun(job)
                return
            outcome = Outcome(job, None, "its worker process died", lost=True, attempts=attempts[job.key])
        if report.record(outcome, on_done):  # signalled directly: stop the rest too
            _stop_workers(slots)

    with StopSignals() as stop:
        try:
            fill()
            while running and not report.stopped:
                try:
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:
                    report.signum = stop.interrupted()
                    _stop_workers(slots)
                    break
                for future in done:
                    finish(future, *running.pop(future))
                fill()
        except Exception:  # this process failed (on_done on a full disk): the running jobs stop as on a signal
            _stop_workers(slots)
            raise
        finally:
            _close(slots, running, report, finish, stop)
    return report


def _processes(slots: Sequence[ProcessPoolExecutor | None]) -> list[Any]:
    # ProcessPoolExecutor keeps its processes private; there is no public way to signal them.
    return [p for pool in slots if pool is not None for p in list(getattr(pool, "_processes", {}).values())]


def _stop_workers(slots: Sequence[ProcessPoolExecutor | None]) -> None:
    """One SIGTERM to each worker process: a job in training checkpoints and returns ``interrupted``."""
    for process in _processes(slots):
        with contextlib.suppress(ProcessLookupError, OSError):
            os.kill(process.pid, signal.SIGTERM)


def _close(slots: list[ProcessPoolExecutor | None], running: dict[Future[Called], tuple[Job, int]], report: Report,
           finish: Callable[[Future[Called], Job, int], None], stop: StopSignals) -> None:
    """Let stopped jobs write their checkpoints (at most ``STOP_GRACE_S``; a second Ctrl-C kills them at once), then
    shut the slots down."""
    deadline = time.monotonic() + STOP_GRACE_S
    while running and time.monotonic() < deadline:
        try:
            done, _ = wait(running, timeout=max(0.0, deadline - time.monotonic()), return_when=FIRST_COMPLETED)
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
            report.signum = report.signum or stop.interrupted()
            break
        for future in done:
            finish(future, *running.pop(future))
    if running:
        for process in _processes(slots):
            with contextlib.suppress(ProcessLookupError, OSError):
                process.kill()
    for job, _ in running.values():
        report.outcomes.append(Outcome(job, None, "stopped: did not finish writing in time", lost=True))
    for pool in slots:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
