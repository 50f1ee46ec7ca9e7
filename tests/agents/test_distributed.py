"""Jobs on a local Ray instance (agents/sweeps/distributed.py): a sweep gives the same run directories as the local
backends and logs the node of each run, a worker that dies is rerun, SIGTERM cancels running tasks into an
interrupted result, and an unreachable address is refused in seconds. One Ray instance serves the whole file."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gymsuite.agents.sweeps.executor import Job, run_jobs
from gymsuite.commands import cli


@pytest.fixture(scope="module", autouse=True)
def ray_instance() -> Iterator[None]:
    """ray_address="local" in this process reuses it (starting Ray takes seconds)."""
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield
    ray.shutdown()


# Module-level jobs: the Ray workers import them by name.
def die_first(marker: str) -> dict[str, Any]:
    if not os.path.exists(marker):
        Path(marker).touch()
        os._exit(1)
    return {"value": 1}


def always_die() -> dict[str, Any]:
    os._exit(1)


def stop_the_driver(driver: int) -> dict[str, Any]:
    """Sends SIGTERM to the driver, then works (in Python, so Ray's cancel can interrupt it) until cancelled."""
    os.kill(driver, signal.SIGTERM)
    try:
        for _ in range(300):
            time.sleep(0.1)
    except KeyboardInterrupt:
        return {"interrupted": True}
    return {"interrupted": False}


def one_trial(study_dir: str, x: float) -> dict[str, Any]:
    """What a tuning job does on a node: open the study's journal file in its directory, run one trial."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(Path(study_dir) / "study.log")))
    study = optuna.load_study(study_name="s", storage=storage)
    trial = study.ask()
    study.tell(trial, x)
    return {"number": trial.number, "cwd": os.getcwd()}


def test_tasks_share_a_file_based_optuna_study(tmp_path: Path) -> None:
    optuna = pytest.importorskip("optuna")
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(tmp_path / "study.log")))
    optuna.create_study(study_name="s", storage=storage)
    report = run_jobs([Job(f"t{i}", one_trial, (str(tmp_path), float(i))) for i in range(3)], ray_address="local")
    assert sorted(o.result["number"] for o in report.outcomes if o.result) == [0, 1, 2]
    assert sorted(t.value for t in optuna.load_study(study_name="s", storage=storage).trials) == [0.0, 1.0, 2.0]


def test_a_sweep_on_ray_writes_the_same_runs_and_logs_their_node(tmp_path: Path) -> None:
    grid = ["sweep", "--algo", "ppo", "--env", "CartPole-v1", "--seeds", "0-1", "--timesteps", "256"]
    assert cli.main([*grid, "--dir", str(tmp_path / "ray"), "--ray-address", "local"]) == 0
    assert cli.main([*grid, "--jobs", "2", "--dir", str(tmp_path / "here")]) == 0
    for root in ("ray", "here"):
        assert sorted(p.parent.name for p in (tmp_path / root).glob("*/eval.json")) == [
            "ppo-CartPole-v1-s0", "ppo-CartPole-v1-s1"]
    assert (tmp_path / "ray/ppo-CartPole-v1-s0/config.yaml").read_text() == (
        tmp_path / "here/ppo-CartPole-v1-s0/config.yaml").read_text().replace(str(tmp_path / "here"),
                                                                              str(tmp_path / "ray"))
    lines = [json.loads(line) for line in (tmp_path / "ray/outcomes.jsonl").read_text().splitlines()]
    assert sorted(r["key"] for r in lines) == ["ppo-CartPole-v1-s0", "ppo-CartPole-v1-s1"]
    for record in lines:  # host/ray-node-id
        assert record["status"] == "ok" and record["attempts"] == 1 and record["seconds"] > 0
        host, node = record["node"].split("/")
        assert host == socket.gethostname() and len(node) == 8


def test_a_task_whose_worker_died_is_rerun_then_lost(tmp_path: Path) -> None:
    report = run_jobs([Job("dies-once", die_first, (str(tmp_path / "m"),)), Job("dies", always_die)],
                      ray_address="local", retries=1)
    by_key = {o.job.key: o for o in report.outcomes}
    assert by_key["dies-once"].ok and by_key["dies-once"].attempts == 2 and by_key["dies-once"].node
    assert by_key["dies"].lost and by_key["dies"].attempts == 2 and "Crashed" in by_key["dies"].error


def test_sigterm_to_the_driver_cancels_running_tasks_into_interrupted_results() -> None:
    start = time.monotonic()
    report = run_jobs([Job("stops", stop_the_driver, (os.getpid(),)), Job("never", always_die, cpus=2.0)],
                      workers=1, ray_address="local")
    assert report.signum == signal.SIGTERM and time.monotonic() - start < 20
    assert [(o.job.key, o.interrupted) for o in report.outcomes] == [("stops", True)]  # "never" never started


def test_an_unreachable_address_is_refused_in_seconds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import ray

    ray.shutdown()  # as a fresh process would be: the address is used only when this process has no Ray yet
    start = time.monotonic()
    assert cli.main(["sweep", "--algo", "ppo", "--env", "CartPole-v1", "--seeds", "0", "--timesteps", "256",
                     "--dir", str(tmp_path / "s"), "--ray-address", "127.0.0.1:1"]) == 2
    assert time.monotonic() - start < 10 and "127.0.0.1:1" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()  # refused before anything is written
    assert cli.main(["tune", "--algo", "ppo", "--env", "CartPole-v1", "--trials", "1", "--timesteps", "256",
                     "--study", str(tmp_path / "t"), "--ray-address", "127.0.0.1:1"]) == 2
    assert not (tmp_path / "t").exists()


def test_a_study_runs_its_trials_on_ray(tmp_path: Path) -> None:
    from gymsuite.agents.sweeps.tune import load_study

    space = tmp_path / "space.yaml"
    space.write_text("learning_rate: {low: 1.0e-4, high: 3.0e-3, log: true}\n")
    root = tmp_path / "study"
    assert cli.main(["tune", "--algo", "ppo", "--env", "CartPole-v1", "--timesteps", "512", "--hyperparams",
                     "n_envs=2", "n_steps=64", "batch_size=64", "--trials", "2", "--jobs", "2", "--space", str(space),
                     "--study", str(root), "--ray-address", "local"]) == 0
    trials = load_study(root).get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    assert all("/" in t.user_attrs["node"] and t.intermediate_values for t in trials)  # host/ray-node-id; reported
    assert (root / "best" / "config.yaml").is_file()


@pytest.mark.parametrize("address", ["nohost", "host:port"])
def test_a_malformed_address_is_refused(address: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["sweep", "--algo", "ppo", "--env", "CartPole-v1", "--seeds", "0", "--timesteps", "256",
                     "--dir", str(tmp_path / "s"), "--ray-address", address]) == 2
    assert "host:port" in capsys.readouterr().err and not (tmp_path / "s").exists()
