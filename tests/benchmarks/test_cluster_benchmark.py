"""The cluster benchmark's numbers and table from fake outcomes (the real run needs `ray start`, minutes)."""

from __future__ import annotations

from benchmarks import cluster
from benchmarks.benchlib import numbers, read_tables


def outcome(node: str, attempts: int = 1, status: str = "ok") -> dict[str, object]:
    return {"key": "k", "status": status, "node": node, "attempts": attempts, "seconds": 1.0, "error": ""}


def test_a_phase_counts_runs_per_node_and_reruns() -> None:
    head = "abcdef0123456789"
    one = cluster.summarise("1", {"outcomes": [outcome("vm/abcdef01"), outcome("vm/99999999")], "seconds": 3.04},
                            head)
    two = cluster.summarise("2", {"outcomes": [outcome("vm/abcdef01", 2), outcome("vm/abcdef01"),
                                               outcome("", 3, "lost")], "seconds": 5.0}, head)
    assert (one["head"], one["second"], one["rerun"], one["ok"], one["seconds"]) == (1, 1, 0, 2, 3.0)
    assert (two["head"], two["rerun"], two["lost"], two["ok"], two["runs"]) == (2, 2, 1, 2, 3)
    [(header, rows)] = read_tables(cluster.build_text([one, two], 2, 1000))
    assert header == cluster.HEADER and len(rows) == 2
    assert numbers(rows[1][1]) == [2, 3] and numbers(rows[1][2]) == [2, 0] and numbers(rows[1][3]) == [2]
