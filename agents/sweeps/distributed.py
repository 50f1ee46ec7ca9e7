"""Jobs as tasks on a Ray cluster (``executor.run_jobs(..., ray_address=...)``): the only module that imports Ray.

Being written (issue 15): placement by the job's ``cpus``/``gpus``, retries of tasks whose worker or node died,
the node each job ran on, stop on Ctrl-C/SIGTERM.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agents.sweeps.executor import Job, Outcome, Report
from common.errors import UserError


def run_on_ray(jobs: Sequence[Job], address: str, workers: int, on_done: Callable[[Outcome], None] | None,
               retries: int) -> Report:
    raise UserError("--ray-address is not available yet", "leave it out to run on this machine")
