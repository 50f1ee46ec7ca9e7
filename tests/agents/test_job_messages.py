"""What a sweep or study records of a failed job: the user's message and fix, never gymsuite's code location."""

from __future__ import annotations

from pathlib import Path

import pytest

from gymsuite.agents.sweeps.jobs import Job, call
from gymsuite.common.errors import UserError
from gymsuite.common.files import disk_errors
from gymsuite.envs.factory import make_one


def full_disk(path: str) -> dict:
    with disk_errors(Path(path)):
        raise OSError(28, "No space left on device")


def build(spec: str) -> dict:
    make_one(spec).reset()
    return {}


def test_a_user_error_is_recorded_as_its_message_and_fix(tmp_path: Path) -> None:
    _, error, _, _ = call(Job("cell", full_disk, (str(tmp_path / "model.zip"),)))
    with pytest.raises(UserError) as raised:
        full_disk(str(tmp_path / "model.zip"))
    assert error == str(raised.value) and "fix: free some disk space" in error
    assert "files.py" not in error and "UserError" not in error


def test_a_crash_in_a_user_env_file_names_the_file_and_line(tmp_path: Path) -> None:
    env_file = tmp_path / "my_env.py"
    env_file.write_text("import gymnasium as gym\n\nclass Boom(gym.Env):\n    def __init__(self):\n"
                        "        raise ValueError(f'no config for {__name__}')\n")
    _, error, _, _ = call(Job("cell", build, (f"{env_file}:Boom",)))
    assert error == f"ValueError: no config for {env_file} ({env_file} line 5)"
