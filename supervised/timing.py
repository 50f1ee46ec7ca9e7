"""Latency of one call: the median seconds per call of a function, for the parity and compression reports.

A policy's forward pass takes microseconds, so one call is timed in a loop long enough for the clock
(``min_seconds``), after warm-up calls, and the median of ``repeats`` such loops is reported.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def seconds_per_call(call: Callable[[], object], min_seconds: float = 0.05, repeats: int = 5,
                     warmup: int = 3) -> float:
    """The median over ``repeats`` loops of the seconds one ``call()`` takes; a loop lasts ``min_seconds`` or more."""
    for _ in range(warmup):
        call()
    start, loops = time.perf_counter(), 0
    while time.perf_counter() - start < min_seconds / 10 or loops < 1:  # a first estimate of one call
        call()
        loops += 1
    per_call = (time.perf_counter() - start) / loops
    n = max(1, int(min_seconds / max(per_call, 1e-9)))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            call()
        samples.append((time.perf_counter() - start) / n)
    return statistics.median(samples)
