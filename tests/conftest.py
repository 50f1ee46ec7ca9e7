"""Shared test set-up: one torch thread, headless SDL, and a scratch working directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
torch.set_num_threads(1)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test inside ``tmp_path`` (default run directories land there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def cartpole_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short PPO run on CartPole-v1 shared by the tests that only read a run directory."""
    from agents.pipeline.config import build_config
    from agents.pipeline.training import train

    run = tmp_path_factory.mktemp("runs") / "ppo-cartpole"
    cfg = build_config({"algo": "ppo", "env": "CartPole-v1", "timesteps": 4096, "eval_episodes": 3,
                        "checkpoint_freq": 1024})
    train(cfg, run)
    return run
