"""gymsuite sweep: the grid's runs are ordinary run directories, a rerun trains only what is missing, and a bad
cell stops the sweep before anything is written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gymsuite.agents.sweeps.sweep import parse_seeds
from gymsuite.commands import cli
from gymsuite.common.errors import UserError
from gymsuite.common.files import read_yaml


def test_seeds_are_ranges_and_lists() -> None:
    assert parse_seeds("0-3") == [0, 1, 2, 3] and parse_seeds("5,1,1-2") == [1, 2, 5]
    for bad in ("3-1", "a", "1-", ""):
        with pytest.raises(UserError):
            parse_seeds(bad)


def test_a_resumed_sweep_trains_only_the_missing_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "sweep"
    args = ["sweep", "--algo", "ppo", "--env", "CartPole-v1", "--seeds", "0-1", "--timesteps", "256",
            "--dir", str(root)]
    assert cli.main(args) == 0
    runs = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert runs == ["ppo-CartPole-v1-s0", "ppo-CartPole-v1-s1"] and (root / "sweep.yaml").is_file()
    kept = (root / runs[0] / "model.zip").stat().st_mtime_ns
    (root / runs[1] / "eval.json").unlink()  # as if the sweep had been stopped before this run finished
    capsys.readouterr()
    assert cli.main(args) == 0
    assert "1 finished, 1 to train" in capsys.readouterr().err
    assert (root / runs[1] / "eval.json").is_file() and (root / runs[0] / "model.zip").stat().st_mtime_ns == kept
    assert cli.main(["compare", str(root), "--json"]) == 0 and '"finished": 2' in capsys.readouterr().out


def test_two_jobs_run_the_grid_in_worker_processes(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    assert cli.main(["sweep", "--algo", "ppo,a2c", "--env", "CartPole-v1", "--seeds", "0", "--timesteps", "256",
                     "--jobs", "2", "--dir", str(root)]) == 0
    assert sorted(p.parent.name for p in root.glob("*/eval.json")) == ["a2c-CartPole-v1-s0", "ppo-CartPole-v1-s0"]


@pytest.mark.parametrize("grid", [["--algo", "ppo,nope", "--env", "CartPole-v1"],
                                  ["--algo", "ppo", "--env", "CartPole-v1,NoSuchEnv-v0"],
                                  ["--algo", "dqn", "--env", "Pendulum-v1"]])
def test_a_bad_cell_stops_before_anything_is_written(grid: list[str], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["sweep", *grid, "--dir", str(tmp_path / "sweep")]) == 2
    assert "error:" in capsys.readouterr().err and not (tmp_path / "sweep").exists()


def test_a_config_file_runs_under_every_seed(tmp_path: Path) -> None:
    assert cli.main(["train", "--algo", "ppo", "--env", "CartPole-v1", "--timesteps", "256", "--seed", "7",
                     "--preset", "zoo", "--hyperparams", "learning_rate=0.0123",
                     "--run-dir", str(tmp_path / "one")]) == 0
    root = tmp_path / "again"
    assert cli.main(["sweep", "--config", str(tmp_path / "one" / "config.yaml"), "--seeds", "1-2",
                     "--dir", str(root)]) == 0
    configs = [read_yaml(p) for p in sorted(root.glob("*/config.yaml"))]
    assert [c["seed"] for c in configs] == [1, 2]
    assert all(c["hyperparams"]["learning_rate"] == 0.0123 and c["timesteps"] == 256 and c["preset"] == "zoo"
               for c in configs)  # the file's preset kept (its rollouts of 8 x 32 steps fit 256)


def _grid(root: Path, algo: str = "ppo", *extra: str) -> list[str]:
    return ["sweep", "--algo", algo, "--env", "CartPole-v1", "--seeds", "0", "--timesteps", "256", "--dir", str(root),
            *extra]


def _snapshot(where: Path) -> dict[str, bytes]:
    return {str(p.relative_to(where)): p.read_bytes() for p in sorted(where.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("link", ["ppo-CartPole-v1-s0", "outcomes.jsonl", "ppo-CartPole-v1-s0/logs"])
def test_a_symbolic_link_inside_the_sweep_directory_is_refused(link: str, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.jsonl").write_text('{"mine": 1}\n')
    root = tmp_path / "sweep"
    (root / link).parent.mkdir(parents=True)
    target = outside / "keep.jsonl" if link.endswith(".jsonl") else outside
    (root / link).symlink_to(target)
    before = _snapshot(outside)
    capsys.readouterr()
    assert cli.main(_grid(root)) == 2
    err = capsys.readouterr().err
    assert str(root / link) in err and "symbolic link" in err and "rm " in err
    assert _snapshot(outside) == before  # nothing trained, appended or written through the link
    assert sorted(p.name for p in root.iterdir()) == [Path(link).parts[0]]  # no sweep.yaml, no outcomes.jsonl


def test_a_finished_run_of_another_cell_is_reported_not_counted(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    other = tmp_path / "a2c"
    assert cli.main(_grid(other, "a2c")) == 0
    root = tmp_path / "sweep"
    root.mkdir()
    # A run of another algorithm copied (not linked) under this sweep's cell name: eval.json says "finished".
    shutil.copytree(other / "a2c-CartPole-v1-s0", root / "ppo-CartPole-v1-s0")
    before = _snapshot(root)
    capsys.readouterr()
    assert cli.main(_grid(root)) == 2
    err = capsys.readouterr().err
    assert str(root / "ppo-CartPole-v1-s0") in err and "algo 'a2c', not 'ppo'" in err
    assert _snapshot(root) == before  # not counted, not retrained, nothing written
    # The same sweep with other hyperparameters: its finished runs are not this grid's either.
    capsys.readouterr()
    assert cli.main(_grid(other, "a2c", "--hyperparams", "learning_rate=0.0123")) == 2
    err = capsys.readouterr().err
    # the preset's value, or "(not set)" where it leaves SB3's default
    assert re.search(r"learning_rate (\(not set\)|[0-9.e-]+), not 0\.0123", err) and "timesteps" not in err, err
    assert cli.main(_grid(other, "a2c")) == 0  # the grid it is: counted as finished


@pytest.mark.parametrize("full", ["short write", "ENOSPC mid-line"])
def test_the_outcomes_log_keeps_whole_lines_when_the_disk_fills(full: str, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    from gymsuite.common import files

    log = tmp_path / "outcomes.jsonl"
    files.append_json_line(log, {"key": "first", "status": "ok"})
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:  # the kernel takes part of the line, then the disk is full
        written = real_write(fd, data[: len(data) // 2])
        if full == "short write":
            return written
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "write", full_disk)
    with pytest.raises(UserError) as err:
        files.append_json_line(log, {"key": "second", "status": "failed", "error": "x" * 200})
    monkeypatch.undo()
    assert str(log) in err.value.message and "No space left" in err.value.message
    assert log.read_text() == '{"key": "first", "status": "ok"}\n'  # no torn line: the next append starts clean
    files.append_json_line(log, {"key": "third"})
    assert [line[-2:] for line in log.read_text().splitlines()] == ['"}', '"}']


def test_the_preset_reaches_every_run_and_a_bad_one_writes_nothing(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(_grid(tmp_path / "zoo", "ppo", "--seeds", "0,1", "--preset", "zoo")) == 0
    configs = [read_yaml(p) for p in sorted((tmp_path / "zoo").glob("*/config.yaml"))]
    assert len(configs) == 2 and all(c["preset"] == "zoo" for c in configs)
    assert all(c["hyperparams"]["n_epochs"] == 20 for c in configs)  # the zoo's CartPole entry, not gymsuite's 8
    assert cli.main(_grid(tmp_path / "bad", "ppo", "--preset", "nope")) == 2
    assert "unknown preset 'nope'" in capsys.readouterr().err and not (tmp_path / "bad").exists()
