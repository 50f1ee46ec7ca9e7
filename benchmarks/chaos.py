#!/usr/bin/env python
"""Faults at random moments during ``gymsuite sweep --jobs 2`` and ``gymsuite tune --jobs 2``: kill -9, full disk.

Each fault gets a fresh directory: the command starts, a fault comes at a random moment of its run (uniform over
the middle 90% of a clean run's duration, measured first), and then three things are checked:

- **no orphan**: every process the command started (its descendants, seen by polling ``/proc`` while it ran) is
  gone 30 s after the command ended;
- **no torn file**: every ``*.yaml``, ``*.json``, ``*.jsonl`` and the study's ``journal.log`` (one JSON record a
  line) in the directory parses;
- **continued**: the same command, run again once the fault is over, exits 0 and leaves the work complete (every
  cell with its ``eval.json``; the study with ``--trials`` finished trials).

The faults: ``kill -9`` of the command (the driver; its workers must end by themselves) and a full disk. The full
disk is real, not simulated: every directory lies on a private tmpfs of ``--tmpfs-mb`` MiB, and the fault fills it
with a ballast file until the kernel answers ENOSPC, keeps it full until the command ends (or ``FULL_FOR_S``), then
deletes the ballast. The tmpfs needs a mount that a normal user cannot make, so the benchmark runs itself again
in a private user and mount namespace (``unshare --user --map-root-user --mount``, no root needed where
unprivileged user namespaces are enabled; nothing outside the benchmark sees the mount). Where that fails, the
full-disk rows say so and only the kills run.

    python -m benchmarks.chaos --quick     # 10 faults of each kind per command at the smallest budgets (~30 min)
    python -m benchmarks.chaos             # the same faults on longer runs

Unlike the learning benchmarks, ``--quick`` writes its section too: the faults and their number are the
measurement, the runs' length only spreads the moments they hit.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from benchmarks import benchlib

ROOT = Path(__file__).resolve().parents[1]
QUICK = {"seeds": 2, "timesteps": 3072, "trials": 3, "trial_steps": 2048}
FULL = {"seeds": 4, "timesteps": 16384, "trials": 6, "trial_steps": 8192}
COMMANDS = ("sweep", "tune")
FAULTS = ("kill -9", "full disk")
ORPHAN_WAIT_S = 30.0
FULL_FOR_S = 180.0  # the longest a command may take to end on a full disk before it counts as hung (and is killed)
RUN_LIMIT_S = 900.0
MAX_DRAWS = 5  # moments drawn for one fault until one comes while the command runs
SPACE = "learning_rate: {low: 1.0e-4, high: 3.0e-3, log: true}\n"  # equal-cost trials: only the learning rate
HEADER = ["command", "fault", "faults", "how the command ended", "no orphan", "no torn file",
          "continued and completed"]


def command(kind: str, where: Path, budget: dict[str, int], space: Path) -> list[str]:
    """The command under test, in ``where``; the same list continues it."""
    base = [sys.executable, "-m", "gymsuite", kind, "--algo", "ppo", "--env", "CartPole-v1", "--jobs", "2"]
    if kind == "sweep":
        return [*base, "--seeds", f"0-{budget['seeds'] - 1}", "--timesteps", str(budget["timesteps"]),
                "--dir", str(where)]
    return [*base, "--trials", str(budget["trials"]), "--timesteps", str(budget["trial_steps"]), "--space",
            str(space), "--hyperparams", "n_envs=2", "n_steps=64", "batch_size=64", "--study", str(where)]


def complete(kind: str, where: Path, budget: dict[str, int]) -> bool:
    """The work is all there: every cell finished, or the study's trials."""
    if kind == "sweep":
        return len(list(where.glob("*/eval.json"))) == budget["seeds"]
    from gymsuite.agents.sweeps.tune import finished, load_study
    from gymsuite.common.errors import UserError

    try:
        return finished(load_study(where)) >= budget["trials"]
    except (UserError, ValueError):  # no study, or a journal Optuna cannot read
        return False


def _processes() -> dict[int, int]:
    """pid -> parent pid of every live process (zombies are dead: whoever adopted them reaps them)."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                table[int(stat.parent.name)] = int(fields[1])
    return table


def descendants(pid: int) -> set[int]:
    table = _processes()
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        children = [p for p, ppid in table.items() if ppid == parent and p not in found]
        found.update(children)
        todo += children
    return found


def left_alive(pids: set[int], wait: float) -> list[int]:
    """Those of ``pids`` still alive after up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while (alive := pids & set(_processes())) and time.monotonic() < deadline:
        time.sleep(0.5)
    return sorted(alive)


def torn_files(root: Path) -> list[str]:
    """Every YAML, JSON, JSON-lines file and Optuna journal under ``root`` that does not parse, with the reason."""
    torn = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name.startswith("."):  # atomic_write's temporaries are not files of the run
            continue
        try:
            if path.suffix == ".yaml":
                yaml.safe_load(path.read_text())
            elif path.suffix == ".json":
                json.loads(path.read_text())
            elif path.suffix == ".jsonl" or path.name == "journal.log":
                for line in path.read_text().splitlines():
                    json.loads(line)
        except (ValueError, yaml.YAMLError, UnicodeDecodeError) as err:
            torn.append(f"{path.relative_to(root)}: {str(err).splitlines()[0][:80]}")
    return torn


def fill(where: Path) -> Path:
    """Fill the filesystem of ``where`` until the kernel says ENOSPC; the ballast file, to delete afterwards."""
    ballast = where.parent / "ballast"
    with open(ballast, "wb", buffering=0) as out:
        for chunk in (2**20, 4096):
            block = b"\0" * chunk
            with contextlib.suppress(OSError):
                while True:
                    out.write(block)
    return ballast


def _run(cmd: list[str], where: Path, log: Path, at: float | None = None, fault: str = "") -> dict[str, Any]:
    """Run ``cmd`` (working in ``where``); with ``at``, inject ``fault`` after that many seconds. Its exit code, the
    processes it started, whether the fault hit it and whether it hung on a full disk."""
    seen: set[int] = set()
    ballast: Path | None = None
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    start = full_since = time.monotonic()
    hung = killed = False
    while proc.poll() is None:
        seen |= descendants(proc.pid)
        now = time.monotonic()
        if at is not None and now - start >= at and not killed and ballast is None:
            if fault == "kill -9":
                proc.kill()
                killed = True
                break
            ballast, full_since = fill(where), now
        if (ballast is not None and now - full_since > FULL_FOR_S) or now - start > RUN_LIMIT_S:
            hung = True
            proc.kill()
            break
        time.sleep(0.3)
    code = proc.wait()
    if ballast is not None:
        ballast.unlink()
    return {"exit": code, "seen": seen, "hung": hung, "seconds": time.monotonic() - start,
            "hit": killed or ballast is not None}


def run_case(kind: str, fault: str, at: float, where: Path, logs: Path, budget: dict[str, int],
             space: Path) -> dict[str, Any]:
    """One fault at ``at`` seconds into a fresh run, then the checks and the continuation."""
    cmd = command(kind, where, budget, space)
    log = logs / f"{where.name}.log"
    faulted = _run(cmd, where, log, at, fault)
    orphans = left_alive(faulted["seen"], ORPHAN_WAIT_S)
    for pid in orphans:  # so that one failure does not spoil the next case
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    torn = torn_files(where) if where.exists() else []
    again = _run(cmd, where, log)
    done = again["exit"] == 0 and complete(kind, where, budget)
    tail = log.read_text(errors="replace").strip().splitlines()[-3:]
    return {"command": kind, "fault": fault, "at": round(at, 1), "exit": faulted["exit"], "hung": faulted["hung"],
            "hit": faulted["hit"], "seconds": round(faulted["seconds"], 1), "orphans": len(orphans), "torn": torn,
            "continued": done,
            "note": "" if done else " / ".join(tail)[-300:]}


def clean_duration(kind: str, scratch: Path, logs: Path, budget: dict[str, int], space: Path) -> float:
    """How long the command takes without a fault, here (the faults' moments are spread over it)."""
    where = scratch / f"clean-{kind}"
    run = _run(command(kind, where, budget, space), where, logs / f"clean-{kind}.log")
    if run["exit"] != 0 or not complete(kind, where, budget):
        raise RuntimeError(f"the clean {kind} failed: see {logs / f'clean-{kind}.log'}")
    shutil.rmtree(where)
    return float(run["seconds"])


def run_all(budget: dict[str, int], faults: int, scratch: Path, logs: Path, disk: bool, seed: int,
            kinds: tuple[str, ...] = COMMANDS) -> dict[str, Any]:
    """Every case: for each command, ``faults`` kills and (with ``disk``) ``faults`` full disks."""
    rng = random.Random(seed)
    space = logs / "space.yaml"
    space.write_text(SPACE)
    cases, clean = [], {}
    for kind in kinds:
        clean[kind] = clean_duration(kind, scratch, logs, budget, space)
        for fault in FAULTS if disk else FAULTS[:1]:
            for i in range(faults):
                span = clean[kind]
                for attempt in range(MAX_DRAWS):  # a moment after the command finished hits nothing: draw again
                    where = scratch / f"{kind}-{fault.replace(' ', '').replace('-', '')}-{i}-{attempt}"
                    case = run_case(kind, fault, rng.uniform(0.05, 0.95) * span, where, logs, budget, space)
                    shutil.rmtree(where, ignore_errors=True)
                    print(json.dumps(case), flush=True)
                    if case["hit"]:
                        break
                    span = min(span, case["seconds"])
                cases.append({**case, "draws": attempt + 1})
    return {"cases": cases, "clean": clean}


def _ends(cases: list[dict[str, Any]]) -> str:
    """How the faulted commands ended: ``killed`` (-9), exit codes, ``hung`` and faults that came too late."""
    words = Counter("hung" if c["hung"] else "finished before the fault" if not c["hit"] else
                    "killed" if c["exit"] == -signal.SIGKILL else f"exit {c['exit']}" for c in cases)
    return ", ".join(f"{word} x{n}" for word, n in sorted(words.items()))


def rows(result: dict[str, Any], disk: bool, reason: str) -> list[list[object]]:
    table: list[list[object]] = []
    for kind in COMMANDS:
        for fault in FAULTS:
            cases = [c for c in result["cases"] if c["command"] == kind and c["fault"] == fault]
            label = f"`{kind} --jobs 2`"
            if not cases:
                if fault == "full disk" and not disk and kind in result["clean"]:
                    table.append([label, fault, 0, f"not run: {reason}", "", "", ""])
                continue
            n = len(cases)
            table.append([label, fault, n, _ends(cases), f"{sum(c['orphans'] == 0 for c in cases)}/{n}",
                          f"{sum(not c['torn'] for c in cases)}/{n}", f"{sum(c['continued'] for c in cases)}/{n}"])
    return table


def build_text(result: dict[str, Any], budget: dict[str, int], disk: bool, reason: str, tmpfs_mb: int) -> str:
    clean = ", ".join(f"{kind} {seconds:.0f} s" for kind, seconds in result["clean"].items())
    failures = [c for c in result["cases"] if c["orphans"] or c["torn"] or not c["continued"]]
    redrawn = sum(c.get("draws", 1) - 1 for c in result["cases"])
    lines = [
        "## Faults at random moments: kill -9 and a full disk during sweep and tune (`benchmarks/chaos.py`)", "",
        f"`gymsuite sweep --jobs 2` (ppo on CartPole-v1, {budget['seeds']} seeds, {budget['timesteps']:,} steps) and "
        f"`gymsuite tune --jobs 2` ({budget['trials']} trials of {budget['trial_steps']:,} steps), each fault in a "
        f"fresh directory at a random moment of the run (clean runs: {clean}; a moment that came after the "
        f"command had finished was drawn again: {redrawn} such moments). A kill is SIGKILL to the command; a "
        f"full disk is a private {tmpfs_mb} MiB tmpfs filled until ENOSPC, kept full until the command ends. Then: "
        f"every process it started gone within {ORPHAN_WAIT_S:.0f} s, every YAML, JSON, JSON-lines file and the "
        "study's journal parsing, and the same command, run again, completing the work. "
        "`python -m benchmarks.chaos --quick`.", "",
        benchlib.table(HEADER, rows(result, disk, reason)), ""]
    if any(c["fault"] == "full disk" and c["hit"] and c["exit"] == 0 for c in result["cases"]):
        lines += ["exit 0 on a full disk: the command finished anyway, as the space it freed itself (the files of a "
                  "run that failed on the full disk are removed) let its later writes through.", ""]
    if failures:
        lines += ["What failed:", ""]
        lines += [f"- {c['command']}, {c['fault']} at {c['at']} s: " + "; ".join(
            [f"{c['orphans']} processes left"] * bool(c["orphans"]) + [f"torn {t}" for t in c["torn"]] +
            [f"not continued ({c['note']})"] * (not c["continued"])) for c in failures]
        lines.append("")
    lines += [f"Machine: {benchlib.machine()}.", ""]
    return "\n".join(lines)


def _namespace_ok() -> str:
    """Empty when this process may mount a tmpfs in a private namespace, else why not."""
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True,
                           text=True)
    return "" if probe.returncode == 0 else (probe.stderr.strip() or "unshare failed").splitlines()[-1]


@contextlib.contextmanager
def tmpfs(size_mb: int) -> Any:
    """A tmpfs of ``size_mb`` MiB mounted on a new temporary directory (inside the private namespace)."""
    where = Path(tempfile.mkdtemp(prefix="gymsuite-chaos-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)
        where.rmdir()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="the smallest budgets (still 10 faults of each; writes)")
    p.add_argument("--faults", type=int, default=10, help="faults of each kind for each command (default 10)")
    p.add_argument("--commands", default="sweep,tune", help="sweep, tune or both (default)")
    p.add_argument("--seed", type=int, default=0, help="seed of the faults' moments")
    p.add_argument("--tmpfs-mb", type=int, default=128, help="size of the private tmpfs filled by the full disk")
    p.add_argument("--no-write", action="store_true", help="print the section, do not write BENCHMARKS.md")
    p.add_argument("--benchmarks", type=Path, default=benchlib.BENCHMARKS, help="the file to write")
    p.add_argument("--inside", default="", help=argparse.SUPPRESS)  # set when re-run inside the namespace
    args = p.parse_args(argv)
    argv = list(sys.argv[1:] if argv is None else argv)
    if not args.inside:
        reason = _namespace_ok()
        if not reason:  # the whole benchmark again, in the namespace that may mount the tmpfs
            inner = ["unshare", "--user", "--map-root-user", "--mount", sys.executable, "-m", "benchmarks.chaos",
                     *argv, "--inside", "tmpfs"]
            sys.exit(subprocess.run(inner, cwd=ROOT).returncode)
        args.inside = f"no private tmpfs ({reason})"
    budget = QUICK if args.quick else FULL
    kinds = tuple(k.strip() for k in args.commands.split(",") if k.strip())
    disk = args.inside == "tmpfs"
    with tempfile.TemporaryDirectory(prefix="gymsuite-chaos-logs-") as logs, (
            tmpfs(args.tmpfs_mb) if disk else tempfile.TemporaryDirectory(prefix="gymsuite-chaos-")) as scratch:
        result = run_all(budget, args.faults, Path(scratch), Path(logs), disk, args.seed, kinds)
    text = build_text(result, budget, disk, args.inside, args.tmpfs_mb)
    benchlib.publish("chaos", text, args.benchmarks, not args.no_write)
    return result


if __name__ == "__main__":
    main()
    sys.exit(0)
