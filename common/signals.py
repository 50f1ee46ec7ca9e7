"""Stop signals: SIGTERM interrupts a run like Ctrl-C does, but never in the middle of writing a file.

``with StopSignals() as stop:`` makes SIGTERM (``timeout``, batch schedulers, ``docker stop``) and SIGINT
(Ctrl-C) raise ``KeyboardInterrupt``, and records which one in ``stop.signum``. Inside ``with held():`` (every
:func:`gymsuite.common.files.atomic_write` and a run's checkpoint) a signal is recorded and raised only when the
block ends: raised inside ``torch.save``, a ``KeyboardInterrupt`` becomes torch's own ``RuntimeError`` from its
zip writer ("unexpected pos"), and a run stopped there would end with a traceback instead of its saved model.

Outside the main thread (where Python cannot install handlers) the signals keep their actions and ``held``
does nothing; a SIGINT handler other than Python's default (a sweep's worker ignores Ctrl-C) is left alone.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType, TracebackType
from typing import Any

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(KeyboardInterrupt):
    """A resumable command (``continual``, ``meta``) stopped by Ctrl-C or SIGTERM, its state saved: ``signum``; the
    same command continues it. ``gymsuite.commands._cli.run`` turns it into the message and exit 128 + ``signum``."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum or signal.SIGINT


class StopSignals:
    """SIGINT and SIGTERM raise ``KeyboardInterrupt`` within the block, deferred inside :func:`held`.

    ``signum`` is the signal that stopped the run (``SIGINT`` for Ctrl-C, ``SIGTERM``), 0 when none did.
    """

    _active: StopSignals | None = None

    def __init__(self) -> None:
        self.signum = 0
        self._previous: dict[int, Any] = {}
        self._holding = 0
        self._pending = 0
        self._outer: StopSignals | None = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signum = signum
        if self._holding:
            self._pending = signum
            return
        raise KeyboardInterrupt(signal.Signals(signum).name)

    def interrupted(self) -> int:
        """Record a ``KeyboardInterrupt`` that no handler of ours raised (Ctrl-C) and return the signal."""
        if not self.signum:
            self.signum = signal.SIGINT
        return self.signum

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in _SIGNALS if _ours(sig)}
            self._outer, StopSignals._active = StopSignals._active, self
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        if self._previous:
            for sig, previous in self._previous.items():
                signal.signal(sig, previous)
            self._previous = {}
            StopSignals._active = self._outer

    @contextmanager
    def _held(self) -> Iterator[None]:
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
        if not self._holding and self._pending:  # the block finished: now stop as the signal asked
            signum, self._pending = self._pending, 0
            raise KeyboardInterrupt(signal.Signals(signum).name)


def _ours(sig: int) -> bool:
    """SIGTERM always; SIGINT unless someone chose otherwise (a sweep's worker ignores the terminal's Ctrl-C)."""
    return sig != signal.SIGINT or signal.getsignal(sig) is signal.default_int_handler


@contextmanager
def held() -> Iterator[None]:
    """Defer the active :class:`StopSignals`' interruption to the end of the block (nothing without one)."""
    active = StopSignals._active
    if active is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    with active._held():
        yield
