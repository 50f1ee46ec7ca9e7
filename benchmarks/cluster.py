#!/usr/bin/env python
"""A Ray cluster in miniature: a head and a second node on this machine, a sweep on both, then one node killed.

This is also the recipe for a real cluster (README, "More than one machine"); only the addresses change:

    ray start --head --port 6379 --num-cpus 1                 # machine 1 (the head); writes ~/.ray/auth_token
    # copy the head's ~/.ray/auth_token to every other machine, then there:
    RAY_AUTH_MODE=token ray start --address HEAD_IP:6379 --num-cpus 1
    RAY_AUTH_MODE=token gymsuite sweep ... --ray-address HEAD_IP:6379 --dir /shared/sweep

Two nodes on one host need nothing special from Ray (each ``ray start`` runs its own raylet on free ports and
shares the head's session directory); ``--node-ip-address 127.0.0.1`` keeps them on the loopback interface. Each
node is started with ``--block`` in its own process group, so killing that group kills the node (its raylet and
its workers) as a machine failure would, and the cleanup stops only the Ray processes this script started
(``ray stop`` would stop every Ray of this user, other programs' included).

Phase 1: ``gymsuite sweep --ray-address`` on a small grid (ppo on CartPole-v1); ``outcomes.jsonl`` shows the runs
on both nodes. Phase 2: the same grid in a new directory; once both nodes are training, the second node is killed;
the sweep finishes, the lost runs rerun on the head (attempts 2).

    python -m benchmarks.cluster              # about 5 min on 2 cores; writes the cluster section of BENCHMARKS.md
    python -m benchmarks.cluster --quick      # tiny budgets; writes nothing
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks import benchlib

ROOT = Path(__file__).resolve().parents[1]
FULL = {"seeds": 6, "timesteps": 80_000}  # about 25 s a run on this machine
QUICK = {"seeds": 2, "timesteps": 12_000}
HEADER = ["phase", "runs", "per node", "rerun (attempts 2)", "lost", "wall time (s)"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    # The nodes' workers import gymsuite from this checkout (on a real cluster: gymsuite installed on every node).
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(":"),
            "RAY_USAGE_STATS_ENABLED": "0",
            # Ray 2.5x's `ray start --head` turns token authentication on (token in ~/.ray/auth_token): the other
            # nodes and the driver must opt in to present it; on one machine they share the file.
            "RAY_AUTH_MODE": "token"}


def start_node(port: int, head: bool, log: Path) -> subprocess.Popen[bytes]:
    """``ray start --block`` in a new process group; returns once the node has joined (or raises)."""
    ray = str(Path(sys.executable).with_name("ray"))
    where = ["--head", "--port", str(port), "--include-dashboard=false"] if head else [
        "--address", f"127.0.0.1:{port}"]
    with open(log, "ab") as out:
        node = subprocess.Popen([ray, "start", *where, "--num-cpus", "1", "--node-ip-address", "127.0.0.1",
                                 "--block"], cwd=ROOT, env=_env(), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if node.poll() is not None:
            raise RuntimeError(f"ray start exited with {node.returncode}: {log.read_text()[-1500:]}")
        if b"Ray runtime started" in log.read_bytes():  # each node has its own log
            return node
        time.sleep(0.5)
    raise RuntimeError(f"ray start did not come up in 60 s: see {log}")


def kill_node(node: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the node's whole process group: ray start, its raylet and the raylet's workers."""
    try:
        os.killpg(node.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    node.wait()


@contextmanager
def cluster(tmp: Path) -> Iterator[tuple[int, list[subprocess.Popen[bytes]]]]:
    """A head; the caller adds nodes to the yielded list. Every node started is killed at the end."""
    port = _free_port()
    nodes = [start_node(port, True, tmp / "head.log")]
    try:
        yield port, nodes
    finally:
        for node in reversed(nodes):
            kill_node(node)
        # `ray start` records the newest cluster's address for `auto` (as `ray stop` would, forget ours)
        current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
        if current.is_file() and current.read_text().strip().endswith(f":{port}"):
            current.unlink()


def sweep_command(root: Path, port: int, seeds: int, timesteps: int) -> list[str]:
    return [sys.executable, "-m", "gymsuite.commands.cli", "sweep", "--algo", "ppo", "--env", "CartPole-v1",
            "--seeds", f"0-{seeds - 1}", "--timesteps", str(timesteps), "--dir", str(root),
            "--ray-address", f"127.0.0.1:{port}"]


def _training(root: Path) -> int:
    """How many runs have logged at least one rollout."""
    return sum(1 for p in root.glob("*/logs/progress.csv") if p.read_text().count("\n") >= 2)


def run_phase(root: Path, port: int, seeds: int, timesteps: int,
              kill: subprocess.Popen[bytes] | None) -> dict[str, Any]:
    """One sweep; with ``kill``, that node is killed once two runs are training. The outcomes and the wall time."""
    start = time.perf_counter()
    sweep = subprocess.Popen(sweep_command(root, port, seeds, timesteps), cwd=ROOT, env=_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if kill is not None:
        while _training(root) < 2 and sweep.poll() is None:
            time.sleep(0.5)
        kill_node(kill)
    out, err = sweep.communicate(timeout=1800)
    if sweep.returncode != 0:
        raise RuntimeError(f"the sweep failed ({sweep.returncode}): {err[-2000:]}")
    outcomes = [json.loads(line) for line in (root / "outcomes.jsonl").read_text().splitlines()]
    return {"outcomes": outcomes, "seconds": time.perf_counter() - start}


def summarise(phase: str, result: dict[str, Any], head_id: str) -> dict[str, Any]:
    """Numbers of one phase: runs, runs per node where they ended (head / second; a lost run has none), reruns,
    lost, wall time."""
    outcomes = result["outcomes"]
    per_node = Counter("head" if o["node"].endswith(head_id[:8]) else "second" for o in outcomes if o["node"])
    return {"phase": phase, "runs": len(outcomes), "ok": sum(o["status"] == "ok" for o in outcomes),
            "head": per_node["head"], "second": per_node["second"],
            "rerun": sum(o["attempts"] > 1 for o in outcomes), "lost": sum(o["status"] == "lost" for o in outcomes),
            "seconds": round(result["seconds"], 1)}


def build_text(rows: list[dict[str, Any]], seeds: int, timesteps: int) -> str:
    table = benchlib.table(HEADER, [[r["phase"], f"{r['ok']}/{r['runs']}", f"head {r['head']}, second {r['second']}",
                                     r["rerun"], r["lost"], r["seconds"]] for r in rows])
    return "\n".join([
        "## A Ray cluster in miniature", "",
        f"A Ray head and a second Ray node (`ray start`, 1 CPU each) on this machine; `gymsuite sweep --ray-address` "
        f"on ppo x CartPole-v1 x {seeds} seeds at {timesteps:,} steps. Phase 2 kills the second node (its raylet "
        "and workers) once both nodes are training; its run is rerun on the head. `python -m benchmarks.cluster`.",
        "", table, "", f"Machine: {benchlib.machine()}.", ""])


def head_node_id(port: int) -> str:
    """The head's Ray node id (the outcomes name nodes by its first 8 characters)."""
    probe = (f"import ray; ray.init(address='127.0.0.1:{port}', logging_level='ERROR', log_to_driver=False); "
             "print([n['NodeID'] for n in ray.nodes() if n['Alive'] and 'node:__internal_head__' in n['Resources']]"
             "[0]); ray.shutdown()")
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=_env(),
                          timeout=120).stdout.strip().splitlines()[-1]


def run_all(seeds: int, timesteps: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="gymsuite-bench-cluster-") as tmp, cluster(Path(tmp)) as (port, nodes):
        nodes.append(start_node(port, False, Path(tmp) / "second.log"))
        head = head_node_id(port)
        rows = [summarise("1: two nodes", run_phase(Path(tmp) / "one", port, seeds, timesteps, None), head)]
        rows.append(summarise("2: second node killed mid-sweep",
                              run_phase(Path(tmp) / "two", port, seeds, timesteps, nodes[-1]), head))
    return rows


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, help=f"runs in the grid (default {FULL['seeds']}, --quick {QUICK['seeds']})")
    p.add_argument("--timesteps", type=int, help=f"steps per run (default {FULL['timesteps']:,})")
    p.add_argument("--quick", action="store_true", help="tiny budgets; writes nothing")
    p.add_argument("--no-write", action="store_true", help="print the section, do not write BENCHMARKS.md")
    p.add_argument("--benchmarks", type=Path, default=benchlib.BENCHMARKS, help="the file to write")
    args = p.parse_args(argv)
    budget = QUICK if args.quick else FULL
    seeds, timesteps = args.seeds or budget["seeds"], args.timesteps or budget["timesteps"]
    rows = run_all(seeds, timesteps)
    text = build_text(rows, seeds, timesteps)
    benchlib.publish("cluster", text, args.benchmarks, not (args.quick or args.no_write))
    return rows


if __name__ == "__main__":
    main()
    sys.exit(0)
