"""seconds_per_call: the loop counts every call it times."""

from __future__ import annotations

from gymsuite.supervised.timing import seconds_per_call


def test_seconds_per_call_times_the_call_in_loops() -> None:
    calls = [0]

    def call() -> None:
        calls[0] += 1

    seconds = seconds_per_call(call, min_seconds=0.01, repeats=3, warmup=2)
    assert 0 < seconds < 1e-3 and calls[0] > 2 + 3
