"""The chaos benchmark's checks and table, from files and cases made here (the real run takes half an hour)."""

from __future__ import annotations

import signal
from pathlib import Path

from benchmarks import chaos
from benchmarks.benchlib import numbers, read_tables


def test_torn_files_are_found_and_whole_ones_pass(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "sweep.yaml").write_text("runs:\n- run_dir: a\n")
    (tmp_path / "run" / "eval.json").write_text('{"mean_return": 1.0}\n')
    (tmp_path / "outcomes.jsonl").write_text('{"key": "a"}\n{"key": "b"}\n')
    (tmp_path / "journal.log").write_text('{"op_code": 0}\n')
    (tmp_path / ".eval.abcd1234.json").write_text('{"mean_')  # an atomic write's temporary: not a file of the run
    assert chaos.torn_files(tmp_path) == []
    (tmp_path / "outcomes.jsonl").write_text('{"key": "a"}\n{"key": "b", "sta')
    (tmp_path / "journal.log").write_text('{"op_code":7,"{"op_code":8}\n')
    (tmp_path / "run" / "eval.json").write_text('{"mean_return": ')
    (tmp_path / "sweep.yaml").write_text("runs: [a, b\n")
    assert [t.split(":")[0] for t in chaos.torn_files(tmp_path)] == [
        "journal.log", "outcomes.jsonl", "run/eval.json", "sweep.yaml"]


def case(command: str, fault: str, exit_code: int, orphans: int = 0, torn: tuple[str, ...] = (),
         continued: bool = True, hit: bool = True) -> dict[str, object]:
    return {"command": command, "fault": fault, "at": 3.0, "exit": exit_code, "hung": False, "hit": hit,
            "orphans": orphans, "torn": list(torn), "continued": continued, "note": "" if continued else "exit 1"}


def test_the_table_counts_each_command_and_fault() -> None:
    killed = -signal.SIGKILL
    cases = [case("sweep", "kill -9", killed), case("sweep", "kill -9", killed, orphans=2),
             case("sweep", "full disk", 2), case("sweep", "full disk", 0, hit=False),
             case("tune", "kill -9", killed), case("tune", "full disk", 2, torn=("journal.log: bad",), continued=False)]
    cases[4]["draws"] = 3  # two moments came after the command had finished
    text = chaos.build_text({"cases": cases, "clean": {"sweep": 12.0, "tune": 30.0}}, chaos.QUICK, True, "", 128)
    [(header, rows)] = read_tables(text)
    assert header == chaos.HEADER and [r[:2] for r in rows] == [
        ["`sweep --jobs 2`", "kill -9"], ["`sweep --jobs 2`", "full disk"], ["`tune --jobs 2`", "kill -9"],
        ["`tune --jobs 2`", "full disk"]]
    assert numbers(rows[0][4]) == [1, 2] and numbers(rows[0][6]) == [2, 2] and rows[0][3] == "killed x2"
    assert rows[1][3] == "exit 2 x1, finished before the fault x1" and numbers(rows[1][5]) == [2, 2]
    assert numbers(rows[3][5]) == [0, 1] and numbers(rows[3][6]) == [0, 1]
    assert "drawn again: 2 such moments" in text and "2 processes left" in text
    assert "torn journal.log: bad" in text and "not continued (exit 1)" in text


def test_without_a_private_tmpfs_the_full_disk_rows_say_why() -> None:
    cases = [case("sweep", "kill -9", -signal.SIGKILL)]
    text = chaos.build_text({"cases": cases, "clean": {"sweep": 12.0}}, chaos.QUICK, False, "no userns", 128)
    [(_, rows)] = read_tables(text)
    assert rows[1][:4] == ["`sweep --jobs 2`", "full disk", "0", "not run: no userns"]
