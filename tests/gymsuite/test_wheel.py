"""The pip user's path: the built wheel holds the one package ``gymsuite``, and installed into a fresh virtual
environment that already has a distribution named ``envs``, it trains, loads, acts, evaluates and makes
``gymsuite/`` envs from a folder with its own ``agents/``, ``envs/`` and ``common/`` packages.

The fresh environment reaches torch, SB3 and the rest through a ``.pth`` file naming this interpreter's
site-packages folders (no downloads). ``.pth`` files inside those folders are not processed, so the
checkout's editable install of gymsuite is invisible there: gymsuite comes from the wheel alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "gymsuite", "agents", "envs", "supervised", "rewards", "common")

USER_SCRIPT = """
import importlib.metadata, json, sys
import torch
torch.set_num_threads(1)
import gymnasium as gym
import agents, common, envs  # the user's own packages, beside this script
import gymsuite, gymsuite.agents

run = gymsuite.train("ppo", "CartPole-v1", timesteps=128, n_envs=1, run_dir=sys.argv[1], eval_episodes=2,
                     eval_freq=0, checkpoint_freq=0, hyperparams={"n_steps": 64, "batch_size": 64, "n_epochs": 1})
agent = gymsuite.load(run.dir)
env = gym.make("CartPole-v1")
observation, _ = env.reset(seed=0)
action = agent.act(observation)
assert env.action_space.contains(action), action
result = gymsuite.evaluate(run.dir, episodes=2)
novel = gym.make("gymsuite/CartPoleNoVel-v0")
import agents as agents_after, envs as envs_after
print(json.dumps({
    "gymsuite": gymsuite.__file__, "gymsuite.agents": gymsuite.agents.__file__,
    "user": [agents.OWNER, envs.OWNER, common.OWNER], "same": agents_after is agents and envs_after is envs,
    "steps": run.steps, "model": run.model_path.is_file(), "episodes": result["episodes"],
    "novel": list(novel.reset(seed=0)[0].shape), "envs_dist": importlib.metadata.version("envs"),
}))
"""


def _site_packages(venv: Path) -> Path:
    return venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def _run(args: list[str | Path], cwd: Path, timeout: int = 120) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the sources (the build's own folders stay out of the checkout)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, symlinks=True, ignore=skip)
        else:
            shutil.copy2(ROOT / name, src / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", tmp / "dist", src], cwd=tmp, timeout=300)
    (built,) = (tmp / "dist").glob("gymsuite-*.whl")
    return built


def test_the_wheel_holds_the_one_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top = {name.split("/", 1)[0] for name in names}
    packages = {t for t in top if not t.endswith(".dist-info")}
    assert packages == {"gymsuite"}, sorted(top)
    assert len(top - packages) == 1 and next(iter(top - packages)).startswith("gymsuite-")
    for needed in ("gymsuite/__init__.py", "gymsuite/api.py", "gymsuite/commands/cli.py",
                   "gymsuite/agents/pipeline/training.py", "gymsuite/envs/custom/__init__.py",
                   "gymsuite/agents/hyperparams/ppo.yml"):
        assert needed in names, needed


def test_a_pip_user_trains_loads_acts_and_evaluates(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path)
    python, site = venv / "bin" / "python", _site_packages(venv)
    shared = [p for p in sys.path if p.endswith(("site-packages", "dist-packages")) and Path(p).is_dir()]
    (site / "_shared.pth").write_text("\n".join(shared) + "\n")
    # A distribution named envs, installed before gymsuite (as pip would lay it out).
    (site / "envs").mkdir()
    (site / "envs" / "__init__.py").write_text('OWNER = "the envs distribution"\n')
    (site / "envs-1.0.dist-info").mkdir()
    (site / "envs-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: envs\nVersion: 1.0\n")
    (site / "envs-1.0.dist-info" / "RECORD").write_text("envs/__init__.py,,\n")
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q", wheel], cwd=tmp_path)
    assert (site / "gymsuite" / "api.py").is_file() and (site / "envs" / "__init__.py").is_file()

    user = tmp_path / "project"
    for package in ("agents", "envs", "common"):
        (user / package).mkdir(parents=True)
        (user / package / "__init__.py").write_text(f'OWNER = "the user\'s {package}"\n')
    (user / "script.py").write_text(textwrap.dedent(USER_SCRIPT))
    out = json.loads(_run([python, "script.py", tmp_path / "run"], cwd=user).strip().splitlines()[-1])

    for module in ("gymsuite", "gymsuite.agents"):
        path = Path(out[module])
        assert path.is_relative_to(site) and not path.is_relative_to(ROOT), (module, path)
    assert out["user"] == ["the user's agents", "the user's envs", "the user's common"] and out["same"]
    assert out["steps"] == 128 and out["model"] and out["episodes"] == 2 and out["novel"] == [2]
    assert out["envs_dist"] == "1.0"
    # Elsewhere, without the user's folder, `envs` is still the installed distribution, untouched by gymsuite.
    owner = _run([python, "-c", "import gymsuite, envs; print(envs.OWNER)"], cwd=tmp_path)
    assert owner.strip() == "the envs distribution"
