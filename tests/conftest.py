"""Shared test set-up: one torch thread, headless SDL, and a scratch working directory."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from stable_baselines3 import PPO

os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
torch.set_num_threads(1)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test inside ``tmp_path`` (default run directories land there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The process's temp dir (``tempfile.gettempdir()``), an empty folder of its own for the test: what a run leaves
    there (SB3's logger makes an ``SB3-<date>`` folder at ``learn()`` when none is set) can be looked for."""
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return temp


@pytest.fixture(scope="session")
def cartpole_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short PPO run on CartPole-v1 shared by the tests that only read a run directory."""
    from gymsuite.agents.run.config import build_config
    from gymsuite.agents.run.training import train

    run = tmp_path_factory.mktemp("runs") / "ppo-cartpole"
    cfg = build_config({"algo": "ppo", "env": "CartPole-v1", "timesteps": 4096, "eval_episodes": 3,
                        "checkpoint_freq": 1024})
    train(cfg, run)
    return run


def _linear_expert(env: str, weights: Sequence[Sequence[float]], run_dir: str | Path | None = None) -> PPO:
    """A hand-written linear controller as a PPO model: action logits ``W @ obs``, greedy = argmax.

    ``weights`` is ``(n_actions, O)``; e.g. CartPole's "push towards the lean"
    ``[[0, 0, -50, -25], [0, 0, 50, 25]]``. With ``run_dir`` it is saved as a run directory
    (``model.zip`` + ``config.yaml``) usable as ``--expert`` and by ``collect_demos.py``.
    """
    from gymsuite.envs.factory import make_env

    venv = make_env(env, n_envs=1, seed=0)
    model = PPO("MlpPolicy", venv, policy_kwargs={"net_arch": {"pi": [], "vf": []}}, device="cpu", seed=0)
    venv.close()
    w = torch.as_tensor(np.asarray(weights, dtype=np.float32))
    layer = model.policy.action_net
    assert tuple(w.shape) == tuple(layer.weight.shape), f"{env} needs weights of shape {tuple(layer.weight.shape)}"
    with torch.no_grad():
        layer.weight.copy_(w)
        layer.bias.zero_()
    if run_dir is not None:
        root = Path(run_dir)
        root.mkdir(parents=True, exist_ok=True)
        model.save(root / "model.zip")
        (root / "config.yaml").write_text(yaml.safe_dump({"algo": "ppo", "env": env, "hyperparams": {},
                                                          "source": "tests/conftest.py linear_expert"}))
    return model


@pytest.fixture(scope="session")
def linear_expert() -> Callable[..., PPO]:
    """A factory of hand-made experts that cost no training: ``linear_expert(env, weights, run_dir=None)``."""
    return _linear_expert


@pytest.fixture(scope="session")
def cartpole_teacher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PPO CartPole-v1 run good enough to compress (greedy return about 400 of 500, ~20 s): net_arch [32, 32]."""
    from gymsuite.agents.run.config import build_config
    from gymsuite.agents.run.training import train

    run = tmp_path_factory.mktemp("teacher") / "ppo-cartpole-teacher"
    cfg = build_config({"algo": "ppo", "env": "CartPole-v1", "timesteps": 20_000, "seed": 0, "eval_episodes": 5},
                       overrides={"policy_kwargs": {"net_arch": [32, 32]}})
    train(cfg, run)
    return run
