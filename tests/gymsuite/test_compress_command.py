"""``gymsuite compress`` from the command line: the report, --json, and each bad input's one message (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gymsuite.agents.run.config import build_config
from gymsuite.agents.run.training import train
from gymsuite.commands.cli import main

FAST = ["--episodes", "2", "--states", "50"]


def _tiny_run(root: Path, env: str, **hyper: object) -> Path:
    cfg = build_config({"algo": "ppo", "env": env, "timesteps": 32, "n_envs": 1, "eval_episodes": 1},
                       overrides={"n_steps": 32, "batch_size": 32, **hyper})
    train(cfg, root)
    return root


def test_compress_prints_one_json_object_and_writes_a_run(cartpole_teacher: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "small"
    assert main(["compress", str(cartpole_teacher), "--out", str(out), "--prune", "0.5", "--structured",
                 "--json", *FAST]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["details"]["net_arch"] == {"pi": [16, 16], "vf": [16, 16]}
    assert report["compressed"]["parameters"] < report["teacher"]["parameters"]
    assert main(["evaluate", str(out), "--episodes", "1"]) == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--prune", "0.5"], "already exists"),
    (["--prune", "1.0"], "must be in (0, 1)"),
    (["--prune", "0"], "must be in (0, 1)"),
    (["--distill", "64,64"], "is not smaller than the teacher"),
    (["--distill", "small_cnn"], "not an image"),
    (["--int8", "--prune", "0.5"], "exactly one method"),
    (["--prune", "0.5", "0.9"], "without --sweep"),
    (["--int8", "--sweep"], "has one size"),
    (["--distill", "8", "--finetune", "100"], "goes with --prune or --int8"),
    (["--int8", "--structured"], "goes with --prune"),
    (["--prune", "0.5", "--finetune-by", "teacher"], "no --finetune is given"),
    (["--int8", "--finetune", "100", "--finetune-by", "teacher"], "goes with --prune"),
])
def test_bad_input_is_one_message_and_nothing_written(cartpole_teacher: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str], args: list[str],
                                                      message: str) -> None:
    out = tmp_path / "out"
    if message == "already exists":
        out.mkdir()
        (out / "model.zip").write_text("an older run")
    assert main(["compress", str(cartpole_teacher), "--out", str(out), *args, *FAST]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("error:") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == (["out"] if message == "already exists" else [])


def test_overwrite_never_deletes_the_teacher_or_a_folder_that_is_not_a_run(cartpole_teacher: Path, tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compress", str(cartpole_teacher), "--out", str(cartpole_teacher), "--int8", "--overwrite"]) == 2
    assert "holds the teacher" in capsys.readouterr().err
    assert main(["compress", str(cartpole_teacher), "--out", str(cartpole_teacher.parent), "--int8",
                 "--overwrite"]) == 2
    assert "holds the teacher" in capsys.readouterr().err
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("mine")
    assert main(["compress", str(cartpole_teacher), "--out", str(notes), "--int8", "--overwrite"]) == 2
    assert "neither a run directory nor a compress sweep" in capsys.readouterr().err
    assert (notes / "todo.txt").read_text() == "mine" and (cartpole_teacher / "model.zip").is_file()


def test_int8_refuses_an_attention_backbone_and_compress_an_lstm(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    attention = _tiny_run(tmp_path / "attention", "gymsuite/PixelCartPole-v0", backbone="attention")
    assert main(["compress", str(attention), "--out", str(tmp_path / "a8"), "--int8", *FAST]) == 2
    assert "MultiheadAttention" in capsys.readouterr().err
    lstm = _tiny_run(tmp_path / "lstm", "CartPole-v1", backbone="lstm")
    assert main(["compress", str(lstm), "--out", str(tmp_path / "l8"), "--prune", "0.5", *FAST]) == 2
    assert "recurrent" in capsys.readouterr().err
    assert not (tmp_path / "a8").exists() and not (tmp_path / "l8").exists()


def test_student_sizes_parse_into_widths_a_backbone_and_its_features() -> None:
    from gymsuite.agents.run.compressing import StudentSize, parse_size
    from gymsuite.common.errors import UserError

    assert parse_size("16", False) == StudentSize(None, None, [16])
    assert parse_size("32,16", False) == StudentSize(None, None, [32, 16])
    assert parse_size("small_cnn", True) == StudentSize("small_cnn", None, None)
    assert parse_size("small_cnn@8:16", True) == StudentSize("small_cnn", 8, [16])
    for bad, image in (("16,,4", False), ("@8", True), ("small_cnn@0:16", True), ("smal_cnn:16", True),
                       ("small_cnn:16", False), ("", False)):
        with pytest.raises(UserError):
            parse_size(bad, image)
