"""The local backends of agents/sweeps/executor.py: a job that raises is reported and not retried, a worker that
dies is rerun (then lost), and SIGTERM to a sweep leaves every running run with a checkpoint and resumes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gymsuite.agents.sweeps.executor import Job, Outcome, run_jobs

ROOT = Path(__file__).resolve().parents[2]
# Long enough that neither run is done when the later one logs its first rollout, on a loaded machine too (12,000
# steps, about 3 s at the gymsuite preset's speed, once let one run finish first); short enough for a quick rerun.
STEPS = 30000  # 50,000 until 2026-12-07: the rerun's training was most of these tests' time


# Module-level jobs: the spawned workers import them by name.
def square(x: int) -> dict[str, Any]:
    return {"value": x * x}


def fail(marker: str) -> dict[str, Any]:
    with open(marker, "a") as calls:  # one line per call: a rerun would add a second
        calls.write("called\n")
    raise ValueError("bad input")


def die_first(marker: str) -> dict[str, Any]:
    """Dies without a word on its first attempt (as an out-of-memory kill would), succeeds on the next."""
    if not os.path.exists(marker):
        Path(marker).touch()
        os._exit(1)
    return {"value": 1}


def slow(x: int) -> dict[str, Any]:
    time.sleep(3.0)
    return {"value": x * x}


def always_die() -> dict[str, Any]:
    os._exit(1)


def train_until_stopped(marker: str) -> dict[str, Any]:
    """Works for a minute unless SIGTERM stops it first (as a run's training does); says which in ``marker``."""
    from gymsuite.common.signals import StopSignals

    with StopSignals():
        try:
            for _ in range(600):
                time.sleep(0.1)
        except KeyboardInterrupt:
            Path(marker).write_text("stopped")
            return {"interrupted": True}
    Path(marker).write_text("finished")
    return {}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_job_that_raises_is_reported_once_and_the_others_go_on(workers: int, tmp_path: Path) -> None:
    marker = tmp_path / "calls"
    seen: list[Outcome] = []
    jobs = [Job("a", square, (2,)), Job("bad", fail, (str(marker),)), Job("b", square, (3,))]
    report = run_jobs(jobs, workers=workers, on_done=seen.append)
    by_key = {o.job.key: o for o in report.outcomes}
    assert seen == report.outcomes and not report.stopped
    assert by_key["a"].result == {"value": 4} and by_key["b"].result == {"value": 9}
    assert not by_key["bad"].ok and "ValueError" in by_key["bad"].error and not by_key["bad"].lost
    assert by_key["bad"].attempts == 1 and marker.read_text().count("called") == 1


def test_a_dead_worker_is_rerun_then_lost_after_its_retries(tmp_path: Path) -> None:
    report = run_jobs([Job("dies-once", die_first, (str(tmp_path / "m"),)), Job("ok", slow, (4,)),
                       Job("dies", always_die)], workers=2, retries=1)
    by_key = {o.job.key: o for o in report.outcomes}
    assert set(by_key) == {"dies-once", "ok", "dies"} and not report.stopped
    assert by_key["dies-once"].ok and by_key["dies-once"].attempts == 2
    # The neighbour, running while the other worker died, was not disturbed: it ran once.
    assert by_key["ok"].result == {"value": 16} and by_key["ok"].attempts == 1
    assert by_key["dies"].lost and by_key["dies"].attempts == 2 and by_key["dies"].result is None


def test_a_failing_driver_stops_the_running_jobs(tmp_path: Path) -> None:
    marker = tmp_path / "marker"

    def log_fails(outcome: Outcome) -> None:  # as appending to outcomes.jsonl on a full disk does
        if outcome.job.key == "quick":
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        run_jobs([Job("long", train_until_stopped, (str(marker),)), Job("quick", slow, (2,))], workers=2,
                 on_done=log_fails)
    assert marker.read_text() == "stopped"  # not left to train on (and on) after its driver failed


def _logged_rows(run: Path) -> int:
    progress = run / "logs" / "progress.csv"
    return max(0, progress.read_text().count("\n") - 1) if progress.is_file() else 0


def _sweep(root: Path) -> list[str]:
    return [sys.executable, "-m", "gymsuite", "sweep", "--algo", "ppo", "--env", "CartPole-v1", "--seeds", "0-1",
            "--timesteps", str(STEPS), "--jobs", "2", "--dir", str(root)]


def test_sigterm_to_a_two_job_sweep_checkpoints_both_runs_and_a_rerun_resumes(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    sweep = subprocess.Popen(_sweep(root), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    runs = [root / "ppo-CartPole-v1-s0", root / "ppo-CartPole-v1-s1"]
    deadline = time.monotonic() + 60
    while not all(_logged_rows(r) for r in runs):  # both past their first rollout
        assert sweep.poll() is None and time.monotonic() < deadline, sweep.communicate()
        time.sleep(0.2)
    sweep.send_signal(signal.SIGTERM)
    out, err = sweep.communicate(timeout=60)
    assert sweep.returncode == 2 and "continue with" in err, err
    for run in runs:
        assert list((run / "checkpoints").glob("ckpt_*.zip")) and not (run / "eval.json").exists()
    steps = {r.name: max(int(p.stem.split("_")[1]) for p in (r / "checkpoints").glob("ckpt_*.zip")) for r in runs}
    assert all(0 < s < STEPS for s in steps.values()), steps
    resumed = subprocess.run(_sweep(root), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert "0 finished, 2 to train" in resumed.stderr
    for run in runs:  # resumed, not trained again: the interrupted checkpoint is still there, beside the final one
        assert (run / "eval.json").is_file() and (run / "checkpoints" / f"ckpt_{steps[run.name]}.zip").is_file()


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (an orphan's exit is reaped by whoever adopted it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return [p for p in pids if _alive(p)]


LIFELINE_JOB = r"""
import os, time
from pathlib import Path
from gymsuite.common.signals import StopSignals

def work(marker):
    Path(marker).write_text(f"started {os.getpid()}\n")
    with StopSignals():  # as a run's training does: SIGTERM raises KeyboardInterrupt, the run checkpoints
        try:
            for _ in range(1200):
                time.sleep(0.1)
        except KeyboardInterrupt:
            with open(marker, "a") as out:
                out.write("checkpointed\n")
            return {"interrupted": True}
    return {}
"""

LIFELINE_DRIVER = """
import sys, threading
from jobs_here import work
from gymsuite.agents.sweeps.executor import Job, run_jobs

def main():
    run_jobs([Job(str(i), work, (f"{sys.argv[1]}/m{i}",)) for i in range(2)], workers=2)

if __name__ == "__main__":
    if sys.argv[2] == "thread":  # workers started by another thread: no parent-death signal, the watchdog alone
        thread = threading.Thread(target=main)
        thread.start()
        thread.join()
    else:
        main()
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
@pytest.mark.parametrize("started_by", ["main", "thread"])
def test_workers_end_when_their_driver_is_killed(started_by: str, tmp_path: Path) -> None:
    (tmp_path / "jobs_here.py").write_text(LIFELINE_JOB)
    (tmp_path / "driver.py").write_text(LIFELINE_DRIVER)
    driver = subprocess.Popen([sys.executable, str(tmp_path / "driver.py"), str(tmp_path), started_by], cwd=tmp_path)
    markers = [tmp_path / "m0", tmp_path / "m1"]
    deadline = time.monotonic() + 60
    while not all(m.is_file() for m in markers):
        assert driver.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    workers = [int(m.read_text().split()[1]) for m in markers]
    assert set(workers) <= set(_children(driver.pid))
    driver.kill()
    driver.wait()
    assert _wait_gone(workers, 30) == []
    assert all("checkpointed" in m.read_text() for m in markers)  # each job took the SIGTERM path before it ended


def test_kill_9_of_a_two_job_sweep_leaves_no_worker_and_the_sweep_continues(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    sweep = subprocess.Popen(_sweep(root), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runs = [root / "ppo-CartPole-v1-s0", root / "ppo-CartPole-v1-s1"]
    deadline = time.monotonic() + 60
    while not all(_logged_rows(r) for r in runs):  # both workers mid-run
        assert sweep.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    processes = _children(sweep.pid)  # the two workers (and multiprocessing's resource tracker)
    assert len(processes) >= 2
    sweep.kill()
    sweep.wait()
    assert _wait_gone(processes, 30) == []
    assert not any((r / "eval.json").exists() for r in runs)
    resumed = subprocess.run(_sweep(root), cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    assert "0 finished, 2 to train" in resumed.stderr and all((r / "eval.json").is_file() for r in runs)


def test_ray_asked_for_but_missing_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from gymsuite.common.errors import UserError

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError, as without the extra
    with pytest.raises(UserError) as err:
        run_jobs([Job("a", square, (2,))], ray_address="local")
    assert "distributed" in (err.value.hint or "")
