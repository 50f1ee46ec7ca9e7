"""Stopping a training run as Ctrl-C does, at a chosen step, for the tests of interrupt and resume."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gymsuite.agents.run import training


def interrupt_after(monkeypatch: pytest.MonkeyPatch, steps: int) -> Callable[[], None]:
    """Make training raise ``KeyboardInterrupt`` once ``steps`` env steps are done (checked at each env step); return
    the function that lets training run on again (call it before resuming)."""
    original = training.PeriodicEval._on_step

    def interrupting(self: training.PeriodicEval) -> bool:
        if self.model.num_timesteps >= steps:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(training.PeriodicEval, "_on_step", interrupting)
    return lambda: monkeypatch.setattr(training.PeriodicEval, "_on_step", original)
