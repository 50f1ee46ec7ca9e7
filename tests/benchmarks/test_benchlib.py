"""benchlib.run_jobs runs the benchmarks' jobs on the product's executor: results in the jobs' order, a failure
named after every other job ran."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks import benchlib


def double(job: dict[str, Any]) -> dict[str, Any]:  # module level: the spawned workers import it
    if job.get("fail"):
        raise ValueError("this job fails")
    return {"value": 2 * job["x"]}


@pytest.mark.parametrize("workers", [1, 2])
def test_results_come_back_in_the_order_of_the_jobs(workers: int) -> None:
    jobs = [{"x": 1, "steps": 10}, {"x": 2, "steps": 30}, {"x": 3, "steps": 20}]  # run longest first
    assert [r["value"] for r in benchlib.run_jobs(double, jobs, workers)] == [2, 4, 6]


def test_a_failed_job_is_named_after_the_others_ran() -> None:
    with pytest.raises(RuntimeError, match="1 of 2 benchmark jobs failed.*this job fails"):
        benchlib.run_jobs(double, [{"x": 1}, {"x": 2, "fail": True}], 1)
