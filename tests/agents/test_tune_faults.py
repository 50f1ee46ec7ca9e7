"""gymsuite tune's study directory under faults: a continued study proposes new configurations, a full disk leaves
no torn journal record, a damaged journal is repaired (or refused naming its line), a --study (or sweep --dir) that
is a file or read-only exits 2 naming the option, and a symbolic link inside a study is refused."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from gymsuite.agents.sweeps import journal, space, tune
from gymsuite.commands import cli
from gymsuite.common.errors import UserError

SPACE = "learning_rate: {low: 1.0e-4, high: 3.0e-3, log: true}\nn_epochs: {choices: [2, 4]}\n"
HYPER = ["n_envs=2", "n_steps=64", "batch_size=64"]
BASE = ["--algo", "ppo", "--env", "CartPole-v1", "--timesteps", "512", "--hyperparams", *HYPER]


def _args(tmp_path: Path, root: Path, trials: int) -> list[str]:
    space_file = tmp_path / "space.yaml"
    space_file.write_text(SPACE)
    return ["tune", *BASE, "--trials", str(trials), "--study", str(root), "--space", str(space_file)]


def _plan(tmp_path: Path, root: Path) -> tune.StudyPlan:
    space_file = tmp_path / "space.yaml"
    space_file.write_text(SPACE)
    return tune.plan_study("ppo", "CartPole-v1", 512, 0, HYPER, space_file, root)


def _key(trial: optuna.trial.FrozenTrial) -> tuple[tuple[str, object], ...]:
    return tuple(sorted(trial.params.items()))


def _trials(root: Path) -> list[optuna.trial.FrozenTrial]:
    return tune.load_study(root).get_trials()


# --- a continued study proposes new configurations ---------------------------------------------------------------

def test_each_process_of_a_study_proposes_new_configurations(tmp_path: Path) -> None:
    plan = _plan(tmp_path, tmp_path / "study")
    asked = []
    for _ in range(3):  # three processes, each opening the study and asking one trial
        study = tune.open_study(plan)
        trial = study.ask()
        asked.append(tuple(sorted(space.sample(plan.params, trial).items())))
        study.tell(trial, 1.0)
    assert len(set(asked)) == 3
    assert tune.sampler_seed(7, 0) == 7 and len({tune.sampler_seed(7, n) for n in range(1, 50)}) == 49


def test_a_continued_study_with_two_jobs_trains_new_configurations(tmp_path: Path) -> None:
    root = tmp_path / "study"
    assert cli.main(_args(tmp_path, root, 2)) == 0
    assert cli.main([*_args(tmp_path, root, 4), "--jobs", "2"]) == 0
    trials = _trials(root)
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4
    assert len({_key(t) for t in trials}) == 4  # before: trials 2 and 3 repeated trials 0 and 1


# --- the journal: whole records on a full disk, repaired when damaged ---------------------------------------------

def _study_with_trials(tmp_path: Path) -> tuple[Path, list[optuna.trial.FrozenTrial]]:
    """A study of three complete trials (params, intermediate values, user attrs), written by hand: no training."""
    root = tmp_path / "study"
    plan = _plan(tmp_path, root)
    study = tune.open_study(plan)
    for value in (1.0, 3.0, 2.0):
        trial = study.ask()
        space.sample(plan.params, trial)
        trial.report(value / 2, 256)
        trial.set_user_attr("node", "here")
        study.tell(trial, value)
    return root, study.get_trials()


def _same(a: list[optuna.trial.FrozenTrial], b: list[optuna.trial.FrozenTrial]) -> bool:
    view = [(t.number, t.state, t.value, t.params, t.intermediate_values, t.user_attrs) for t in a]
    return view == [(t.number, t.state, t.value, t.params, t.intermediate_values, t.user_attrs) for t in b]


TORN = b'{"op_code":7,"worker_id":"w-1","trial_id":2,"st'  # a record a full disk cut off


@pytest.mark.parametrize(("kind", "damage"), [
    ("torn tail", lambda lines: [*lines, TORN]),  # no newline: the next append would be glued to it
    ("torn record glued to the next", lambda lines: [*lines[:5], TORN + lines[5], *lines[6:]]),
    ("garbage line", lambda lines: [*lines[:5], b"hello, not json", *lines[5:]]),
    ("unknown op code", lambda lines: [*lines[:5], b'{"op_code":42,"worker_id":"w-1"}', *lines[5:]]),
    ("binary bytes", lambda lines: [*lines[:5], bytes(range(128, 256)) + b"\x00\x00", *lines[5:]]),
])
def test_a_damaged_journal_is_repaired_keeping_every_whole_record(
        kind: str, damage: Callable[[list[bytes]], list[bytes]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    root, before = _study_with_trials(tmp_path)
    file = root / tune.JOURNAL
    lines = file.read_bytes().splitlines()
    damaged = b"\n".join(damage(lines)) + (b"" if kind == "torn tail" else b"\n")
    file.write_bytes(damaged)
    with pytest.raises(UserError, match="line 6" if kind != "torn tail" else f"line {len(lines) + 1}"):
        tune.load_study(root)  # a reader without the study's lock refuses, naming the line
    capsys.readouterr()
    assert cli.main(_args(tmp_path, root, 3)) == 0  # three trials finished: nothing to train, the journal repaired
    err = capsys.readouterr().err
    assert "dropped 1 " in err and ("line 6" in err if kind != "torn tail" else f"line {len(lines) + 1}" in err)
    assert "Traceback" not in err
    assert _same(_trials(root), before)
    repaired = file.read_bytes()  # every whole record kept, in order; then what this command wrote
    assert repaired.startswith(b"\n".join(lines) + b"\n") and all(json.loads(r) for r in repaired.splitlines())
    (backup,) = root.glob("journal.log.damaged-*")
    assert backup.read_bytes() == damaged


def test_a_journal_whose_study_record_is_damaged_is_refused_naming_the_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = _study_with_trials(tmp_path)
    file = root / tune.JOURNAL
    first, rest = file.read_bytes().split(b"\n", 1)
    damaged = first[:30] + b"\n" + rest  # the first record, the study itself, torn
    file.write_bytes(damaged)
    assert cli.main(_args(tmp_path, root, 3)) == 2
    err = capsys.readouterr().err
    assert "line 1" in err and "no study is left" in err and "Traceback" not in err
    assert file.read_bytes() == damaged and not list(root.glob("journal.log.damaged-*"))


def test_an_append_cut_by_a_full_disk_leaves_no_torn_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "study"
    file = root / tune.JOURNAL
    file.parent.mkdir()
    file.write_bytes(b"")
    backend = journal.WholeRecords(file)
    backend.append_logs([{"op_code": 0, "worker_id": "w", "study_name": "s", "directions": [1]}])
    whole = file.read_bytes()
    writes = []
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:  # takes half the bytes, then the disk is full
        writes.append(len(data))
        if len(writes) == 1:
            return real_write(fd, bytes(data)[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(UserError, match="GiB free") as caught:
        backend.append_logs([{"op_code": 3, "worker_id": "w", "study_id": 0, "system_attr": {"a": 1}}])
    assert "--study" in caught.value.hint and len(writes) == 2
    assert file.read_bytes() == whole
    file.write_bytes(whole + b'{"op_code":3,"wor')  # a writer killed mid-record before this one
    monkeypatch.setattr(os, "write", real_write)
    backend.append_logs([{"op_code": 3, "worker_id": "w", "study_id": 0, "system_attr": {"b": 2}}])
    assert [json.loads(line)["op_code"] for line in file.read_bytes().splitlines()] == [0, 3]


def test_tune_on_a_full_disk_exits_2_naming_the_free_space_and_the_study_continues(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "study"
    file = root / tune.JOURNAL
    real_write = os.write
    full = []

    def filling_disk(fd: int, data: bytes) -> int:
        """The disk fills while the first trial's outcome is recorded (a user attr, op code 8): that write takes
        half its bytes, every later write to the journal fails."""
        if not os.readlink(f"/proc/self/fd/{fd}") == str(file.resolve()):
            return real_write(fd, data)
        if full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        if b'"op_code":8' in bytes(data):
            full.append(True)
            return real_write(fd, bytes(data)[: len(data) // 2])
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", filling_disk)
    assert cli.main(_args(tmp_path, root, 1)) == 2
    err = capsys.readouterr().err
    assert "journal.log" in err and "No space left" in err and "GiB free" in err and "--study" in err
    assert "Traceback" not in err and not (root / "lock").exists()
    data = file.read_bytes()
    assert data.endswith(b"\n") and all(json.loads(line) for line in data.splitlines())  # no torn record
    monkeypatch.setattr(os, "write", real_write)  # space freed: the same command continues the study
    assert cli.main(_args(tmp_path, root, 1)) == 0
    trials = _trials(root)
    assert trials[0].state == TrialState.FAIL and trials[0].user_attrs["interrupted"] is True
    assert trials[1].state == TrialState.COMPLETE and trials[1].params == trials[0].params
    assert "dropped" not in capsys.readouterr().err  # nothing to repair


# --- the study directory: a file, under a file, read-only; symbolic links -----------------------------------------

def _sweep_args(where: Path) -> list[str]:
    return ["sweep", "--algo", "ppo", "--env", "CartPole-v1", "--seeds", "0", "--timesteps", "64", "--dir", str(where)]


@pytest.mark.parametrize("command", ["tune", "sweep"])
@pytest.mark.parametrize("case", ["a file", "under a file"])
def test_a_study_or_sweep_dir_on_a_file_exits_2_naming_the_option(
        command: str, case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocking = tmp_path / "taken"
    blocking.write_text("mine\n")
    where = blocking if case == "a file" else blocking / "sub"
    args = _args(tmp_path, where, 1) if command == "tune" else _sweep_args(where)
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    flag = "--study" if command == "tune" else "--dir"
    assert f"{flag} {where}" in err and f"choose another {flag}" in err and "--run-dir" not in err
    assert blocking.read_text() == "mine\n"


@pytest.mark.parametrize("command", ["tune", "sweep"])
def test_a_study_or_sweep_dir_on_a_read_only_disk_exits_2_naming_the_option(
        command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    read_only = tmp_path / "ro"
    real_mkdir = os.mkdir

    def mkdir(path: str | os.PathLike[str], mode: int = 0o777, **kwargs: object) -> None:  # a read-only mount
        if Path(path).is_relative_to(read_only):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        real_mkdir(path, mode)

    monkeypatch.setattr(os, "mkdir", mkdir)
    where = read_only / "study"
    assert cli.main(_args(tmp_path, where, 1) if command == "tune" else _sweep_args(where)) == 2
    err = capsys.readouterr().err
    flag = "--study" if command == "tune" else "--dir"
    assert "Read-only file system" in err and f"({flag})" in err and "--run-dir" not in err
    assert not read_only.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
def test_a_study_in_a_directory_without_write_permission_exits_2(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert cli.main(_args(tmp_path, locked / "study", 1)) == 2
        assert cli.main(_args(tmp_path, locked, 1)) == 2
    finally:
        locked.chmod(0o755)
    err = capsys.readouterr().err
    assert err.count("--study") >= 2 and "Traceback" not in err


@pytest.mark.parametrize("link", ["best", "trials/0000", "summary.md", "importance.png", "study.yaml", "journal.log",
                                  "lock"])
def test_a_symbolic_link_inside_a_study_is_refused_and_nothing_is_written_through_it(
        link: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "study"
    tune.open_study(_plan(tmp_path, root))
    outside = tmp_path / "outside"
    outside.mkdir()
    path = root / link
    path.parent.mkdir(parents=True, exist_ok=True)
    if link in ("best", "trials/0000"):
        target = outside
        (outside / "config.yaml").write_text("mine\n")
    else:
        target = outside / "file"
        target.write_bytes(path.read_bytes() if path.is_file() else b"mine\n")
        path.unlink(missing_ok=True)
    path.symlink_to(target)
    before = {p.name: p.read_bytes() for p in outside.iterdir()}
    assert cli.main(_args(tmp_path, root, 1)) == 2
    err = capsys.readouterr().err
    assert f"{path} is a symbolic link" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before
