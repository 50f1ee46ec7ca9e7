"""The ``gymsuite`` entry point: dispatch to every command, help, unknown commands, the installed script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gymsuite.commands import cli


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    listed = [line.split()[0] for line in out.splitlines() if line.startswith("  ")]
    assert listed == list(cli.COMMANDS)


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "train" in capsys.readouterr().out


def test_unknown_command_names_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["trian", "--algo", "ppo"]) == 2
    err = capsys.readouterr().err
    assert "'trian'" in err and "'train'" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_every_command_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main([name, "--help"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: gymsuite {name} ")


def test_dispatch_passes_arguments_through(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["train", "--list-algos"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert {"ppo", "a2c", "dqn", "pg", "bc", "gail"} <= set(names)


def test_user_errors_exit_2_through_the_dispatcher(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["evaluate", "nowhere"]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_installed_script_and_module_run() -> None:
    script = Path(sys.executable).parent / "gymsuite"
    for argv in ([str(script), "train", "--list-algos"], [sys.executable, "-m", "gymsuite", "train", "--list-algos"]):
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert any(line.split()[0] == "ppo" for line in proc.stdout.splitlines())


def test_help_answers_without_loading_the_engines() -> None:
    # --help needs only the commands' own modules: torch and stable-baselines3 load after parsing.
    code = ("import sys; from gymsuite.commands import cli\n"
            "try:\n    cli.main(['train', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'stable_baselines3') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_agent_commands_use_their_threads_flag(capsys: pytest.CaptureFixture[str]) -> None:
    # evaluate, record, collect-demos and probe act on a few observations at a time: one torch thread by default
    import torch

    from gymsuite.commands import _cli

    before = torch.get_num_threads()
    try:
        p = _cli.parser("evaluate", None)
        _cli.add_agent(p, "target", "env")
        assert _cli.parse_agent_args(p, ["runs/x"]).threads == 1 and torch.get_num_threads() == 1
        _cli.parse_agent_args(p, ["runs/x", "--threads", "2"])
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert cli.main(["evaluate", "random", "--env", "CartPole-v1", "--threads", "0"]) == 2
    assert "--threads" in capsys.readouterr().err


def test_a_reader_that_goes_away_gets_no_traceback() -> None:
    # `gymsuite --help | head -1`: the reader closes the pipe before the command writes to it.
    proc = subprocess.Popen([sys.executable, "-m", "gymsuite", "--help"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) in (0, 141)
    assert "Traceback" not in err and "BrokenPipeError" not in err
