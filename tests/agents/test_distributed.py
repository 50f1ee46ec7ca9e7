"""Jobs on a local Ray instance (agents/sweeps/distributed.py): a sweep gives the same run directories as the local
backends and logs the node of each run, a worker that dies is rerun, SIGTERM cancels running tasks into an
interrupted result, and an unreachable address is refused in seconds. One Ray instance serves the whole file."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
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


@pytest.fixture
def not_ray() -> Iterator[str]:
    """A plain TCP service (it greets like an SSH server) on a free port: something that is not a Ray head."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except OSError:
                continue
            with client:
                client.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    server.close()


def test_a_service_that_is_not_ray_is_refused_in_seconds(not_ray: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    import ray

    ray.shutdown()  # as a fresh process would be
    for command in (["sweep", "--algo", "ppo", "--env", "CartPole-v1", "--seeds", "0", "--dir", str(tmp_path / "s")],
                    ["tune", "--algo", "ppo", "--env", "CartPole-v1", "--trials", "1", "--study", str(tmp_path / "t")]):
        start = time.monotonic()
        assert cli.main([*command, "--timesteps", "256", "--ray-address", not_ray]) == 2
        err = capsys.readouterr().err
        assert time.monotonic() - start < 15 and not_ray in err and "not as a Ray head" in err, err
        assert "same Ray and Python versions" not in err
    assert list(tmp_path.iterdir()) == []  # no sweep.yaml, no study: refused before anything is written


def test_auto_without_a_cluster_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    import ray
    from ray._private import services, utils

    ray.shutdown()
    # This machine has started or joined no cluster: no address on record, no GCS process, no RAY_ADDRESS.
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(utils, "read_ray_address", lambda temp_dir=None: None)
    monkeypatch.setattr(services, "find_gcs_addresses", lambda: set())
    assert cli.main(["sweep", "--algo", "ppo", "--env", "CartPole-v1", "--seeds", "0", "--timesteps", "256",
                     "--dir", str(tmp_path / "s"), "--ray-address", "auto"]) == 2
    assert "ray start --head" in capsys.readouterr().err and not (tmp_path / "s").exists()


# What Ray 2.60's ray.init raised, chained, when a `ray start --head` cluster refused a driver without RAY_AUTH_MODE.
RAY_INIT_REFUSED = [
    "ConnectionError: Failed to connect to Ray cluster at 192.0.2.2:52657",
    "RuntimeError: Failed to connect to GCS. Last connection error: Traceback (most recent call last):\n"
    "ray.exceptions.AuthenticationError: RPC error: InvalidAuthToken: Authentication token is missing or incorrect. "
    "Note: RAY_AUTH_MODE is currently 'disabled' (not 'token').",
]


def test_a_token_refusal_is_told_from_other_failures() -> None:
    from gymsuite.agents.sweeps.distributed import refuses_token

    assert refuses_token("\n".join(RAY_INIT_REFUSED))  # ray.init's chain
    assert refuses_token("UNAUTHENTICATED: InvalidAuthToken: Authentication token is missing or incorrect")  # probe
    assert not refuses_token(RAY_INIT_REFUSED[0])
    assert not refuses_token("UNAVAILABLE: failed to connect to all addresses; last error: UNAVAILABLE: "
                             "ipv4:127.0.0.1:47123: Failed parsing HTTP/2 (Expected SETTINGS frame)")
    assert not refuses_token("RuntimeError: Version mismatch: The cluster was started with Ray 2.59.0 and Python "
                             "3.11.7, but this process uses Ray 2.60.0 and Python 3.11.7")


ROOT = Path(__file__).resolve().parents[2]


def _gymsuite(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gymsuite", *args], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=timeout)


@pytest.fixture
def token_head(tmp_path: Path) -> Iterator[tuple[str, Path, int]]:
    """A head started as `ray start --head` starts one where a token exists: token authentication on. Its token
    file is private to the test, and its temp dir too (so `auto` elsewhere on this machine never finds it).
    Yields its address, its token file and the pid of the `ray start` process, whose descendants are its raylet and
    workers (another Ray on the same machine, a second test run's say, has workers of the same names)."""
    token = tmp_path / "auth_token"
    token.write_text(os.urandom(32).hex())
    temp = Path(tempfile.mkdtemp(prefix="gsray"))  # short: Ray's socket paths must fit 107 characters
    port = _free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token), "RAY_USAGE_STATS_ENABLED": "0"}
    log = tmp_path / "head.log"
    with open(log, "wb") as out:
        head = subprocess.Popen(
            [sys.executable, "-c", "import sys; from ray.scripts.scripts import main; sys.argv[0] = 'ray'; main()",
             "start", "--head", "--port", str(port), "--num-cpus", "1", "--include-dashboard=false",
             "--node-ip-address", "127.0.0.1", "--temp-dir", str(temp), "--block"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while b"Ray runtime started" not in log.read_bytes():
            assert head.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.5)
        yield f"127.0.0.1:{port}", token, head.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGKILL)
        head.wait()
        shutil.rmtree(temp, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_head_that_asks_for_a_token_names_it_or_gets_this_machines(token_head: tuple[str, Path, int],
                                                                     tmp_path: Path) -> None:
    address, token, _ = token_head
    grid = ["sweep", "--algo", "ppo", "--env", "CartPole-v1", "--seeds", "0", "--timesteps", "256",
            "--ray-address", address]
    plain = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    # No token on this machine: exit 2 in seconds, naming the setting and where the token goes; nothing written.
    refused = _gymsuite(*grid, "--dir", str(tmp_path / "refused"),
                        env={**plain, "RAY_AUTH_TOKEN_PATH": str(tmp_path / "none")}, timeout=60)
    assert refused.returncode == 2 and "RAY_AUTH_MODE=token" in refused.stderr, refused.stderr
    assert str(tmp_path / "none") in refused.stderr and "same Ray and Python versions" not in refused.stderr
    assert not (tmp_path / "refused").exists()
    # The head is on this machine, whose token is at hand: presented as `ray.init(address="auto")` would.
    joined = _gymsuite(*grid, "--dir", str(tmp_path / "joined"), env={**plain, "RAY_AUTH_TOKEN_PATH": str(token)})
    assert joined.returncode == 0 and "RAY_AUTH_MODE=token" in joined.stderr, joined.stderr
    assert (tmp_path / "joined" / "ppo-CartPole-v1-s0" / "eval.json").is_file()


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                found[int(stat.parent.name)] = (int(fields[1]), (stat.parent / "cmdline").read_text())
    return found


def _descendants(pid: int) -> list[int]:
    table = _processes()
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        children = [p for p, (pp, _) in table.items() if pp == parent]
        found += children
        todo += children
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_kill_9_of_a_driver_on_a_local_ray_leaves_no_task_running(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    sweep = subprocess.Popen([sys.executable, "-m", "gymsuite", "sweep", "--algo", "ppo", "--env", "CartPole-v1",
                              "--seeds", "0-1", "--timesteps", "20000", "--jobs", "2", "--dir", str(root),
                              "--ray-address", "local"], cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while len(list(root.glob("*/logs/progress.csv"))) < 2:  # both tasks training
        assert sweep.poll() is None and time.monotonic() < deadline
        time.sleep(0.5)
    tree = _descendants(sweep.pid)
    table = _processes()
    # Ray's names: the tasks' workers (ray::<job key>), its raylet and its GCS; Ray's agents follow within a minute.
    ray_core = [p for p in tree if p in table and any(
        name in table[p][1] for name in ("ray::ppo-CartPole-v1", "raylet", "gcs_server"))]
    assert len(ray_core) >= 4, [table[p][1][:60] for p in tree if p in table]
    sweep.kill()
    sweep.wait()
    deadline = time.monotonic() + 30
    while set(ray_core) & set(_processes()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not set(ray_core) & set(_processes())


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_kill_9_of_a_driver_on_a_cluster_leaves_no_task_running(token_head: tuple[str, Path, int],
                                                                tmp_path: Path) -> None:
    address, token, head = token_head
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
    root = tmp_path / "sweep"
    sweep = subprocess.Popen([sys.executable, "-m", "gymsuite", "sweep", "--algo", "ppo", "--env", "CartPole-v1",
                              "--seeds", "0", "--timesteps", "20000", "--dir", str(root), "--ray-address", address],
                             cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while not list(root.glob("*/logs/progress.csv")):  # the task is training, in a worker of the head's raylet
        assert sweep.poll() is None and time.monotonic() < deadline
        time.sleep(0.5)
    table, of_head = _processes(), set(_descendants(head))
    workers = [p for p, (_, line) in table.items() if line.startswith("ray::ppo-CartPole-v1-s0") and p in of_head]
    assert len(workers) == 1 and workers[0] not in _descendants(sweep.pid)
    sweep.kill()
    sweep.wait()
    deadline = time.monotonic() + 30
    while set(workers) & set(_processes()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not set(workers) & set(_processes())  # Ray ended the job's worker: its driver died
