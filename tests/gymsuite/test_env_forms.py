"""One env, every form: check-env resolves ids as train does, a MiniGrid class trains like its id, and messages
about a user's env file name the file, never the module name it is imported under."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gymsuite.commands import _cli, check_env, train

MINIGRID_FILE = "from minigrid.envs import EmptyEnv  # noqa: F401\n"


def test_check_env_imports_the_package_of_an_id_as_train_does() -> None:
    """A fresh process (ale-py not imported yet), as a user's shell: PongNoFrameskip-v4 is ale-py's."""
    proc = subprocess.run([sys.executable, "-m", "gymsuite", "check-env", "PongNoFrameskip-v4", "--steps", "5"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "PongNoFrameskip-v4: passed its check" in proc.stdout


@pytest.fixture
def minigrid_forms(in_tmp: Path) -> list[str]:
    """``minigrid.envs:EmptyEnv`` and ``grids/my_grid.py:EmptyEnv`` (a user's file that imports it)."""
    (in_tmp / "grids").mkdir()
    (in_tmp / "grids" / "my_grid.py").write_text(MINIGRID_FILE)
    return ["minigrid.envs:EmptyEnv", "grids/my_grid.py:EmptyEnv"]


def test_a_minigrid_class_is_checked_and_trained_like_its_registered_id(minigrid_forms: list[str],
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    for i, env in enumerate(minigrid_forms):
        assert _cli.run(check_env.main, [env, "--steps", "20"]) == 0
        assert "passed its check" in capsys.readouterr().out
        assert _cli.run(train.main, ["--algo", "ppo", "--env", env, "--timesteps", "32", "--run-dir", f"r{i}",
                                     "--eval-episodes", "1", "--hyperparams", "n_steps=32", "batch_size=16",
                                     "max_episode_steps=8"]) == 0, capsys.readouterr().err
        saved = yaml.safe_load(Path(f"r{i}/config.yaml").read_text())
        assert saved["env"] == env and saved["hyperparams"]["backbone"] == "small_cnn"  # the 7x7 view, as the id's


def test_a_space_outside_the_allowlist_fails_the_check_and_train(in_tmp: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A package's own Space subclass (MiniGrid's MissionSpace, here in a Dict): refused by name, before training."""
    Path("odd.py").write_text(
        "import gymnasium as gym\nimport numpy as np\n"
        "class Odd(gym.spaces.Space):\n"
        "    def contains(self, x): return True\n"
        "    def sample(self, mask=None, probability=None): return 0\n"
        "class OddEnv(gym.Env):\n"
        "    observation_space = gym.spaces.Dict({'x': gym.spaces.Box(0, 1, (2,)), 'odd': Odd()})\n"
        "    action_space = gym.spaces.Discrete(2)\n"
        "    def reset(self, *, seed=None, options=None):\n"
        "        super().reset(seed=seed)\n"
        "        return {'x': np.zeros(2, np.float32), 'odd': 0}, {}\n"
        "    def step(self, action):\n"
        "        return {'x': np.zeros(2, np.float32), 'odd': 0}, 0.0, True, False, {}\n")
    assert _cli.run(check_env.main, ["odd.py:OddEnv", "--steps", "5"]) == 1
    assert "observation['odd'] is Odd" in capsys.readouterr().out
    assert _cli.run(train.main, ["--algo", "ppo", "--env", "odd.py:OddEnv", "--run-dir", "r", "--no-check"]) == 2
    assert "observation['odd'] is Odd" in capsys.readouterr().err and not Path("r").exists()


@pytest.mark.parametrize(("source", "line"), [
    ("import gymnasium as gym\n\nraise RuntimeError('boom')\n", 3),
    ("import gymnasium as gym\nclass Broken(gym.Env:\n    pass\n", 2),
    ("import sys\nx = sys.modules[__name__].missing\n", 2),
])
def test_a_broken_env_file_is_named_by_its_path(in_tmp: Path, capsys: pytest.CaptureFixture[str], source: str,
                                                line: int) -> None:
    Path("envs_dir").mkdir()
    Path("envs_dir/broken.py").write_text(source)
    for main, argv in ((check_env.main, ["envs_dir/broken.py:Broken"]),
                       (train.main, ["--algo", "ppo", "--env", "envs_dir/broken.py:Broken", "--run-dir", "r"])):
        assert _cli.run(main, argv) == 2
        err = capsys.readouterr().err
        assert "importing envs_dir/broken.py failed" in err and f"(envs_dir/broken.py line {line})" in err
        assert "gymsuite_user_" not in err
    assert not Path("r").exists()


@pytest.mark.parametrize(("cls", "message"), [
    ("NotEnv", "envs_dir/bad.py:NotEnv is not a gymnasium.Env subclass"),
    ("NeedsArg", "could not construct envs_dir/bad.py:NeedsArg with no arguments"),
])
def test_a_bad_env_class_in_a_file_is_named_by_its_path(in_tmp: Path, capsys: pytest.CaptureFixture[str], cls: str,
                                                       message: str) -> None:
    Path("envs_dir").mkdir()
    Path("envs_dir/bad.py").write_text(
        "import gymnasium as gym\nclass NotEnv:\n    pass\n"
        "class NeedsArg(gym.Env):\n    def __init__(self, size):\n        pass\n")
    for main, argv in ((check_env.main, [f"envs_dir/bad.py:{cls}"]),
                       (train.main, ["--algo", "ppo", "--env", f"envs_dir/bad.py:{cls}", "--run-dir", "r"])):
        assert _cli.run(main, argv) == 2
        err = capsys.readouterr().err
        assert message in err and "gymsuite_user_" not in err


def test_a_crash_in_a_user_env_is_reported_at_its_line(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("envs_dir").mkdir()
    Path("envs_dir/crash.py").write_text(
        "import gymnasium as gym\nimport numpy as np\n"
        "class Crash(gym.Env):\n"
        "    observation_space = gym.spaces.Box(0, 1, (2,))\n"
        "    action_space = gym.spaces.Discrete(2)\n"
        "    def reset(self, *, seed=None, options=None):\n"
        "        super().reset(seed=seed)\n"
        "        return np.zeros(2, np.float32), {}\n"
        "    def step(self, action):\n"
        "        raise KeyError(type(self).__module__)\n")
    assert _cli.run(check_env.main, ["envs_dir/crash.py:Crash", "--steps", "5"]) == 1
    out = capsys.readouterr().out
    assert "a random rollout crashed: KeyError: 'envs_dir/crash.py' (envs_dir/crash.py line 10)" in out
    assert "gymsuite_user_" not in out
