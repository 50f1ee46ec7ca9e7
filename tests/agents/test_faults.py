"""Faults: SIGTERM stops a run like Ctrl-C, a killed run's leftovers are cleaned on resume, and a
run killed after a periodic checkpoint resumes to exactly the parameters of the run never stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import torch
import yaml

from gymsuite.agents.files.rundir import RunDir
from gymsuite.agents.run import callbacks
from gymsuite.agents.run.config import build_config
from gymsuite.agents.run.training import resume, train
from gymsuite.common.files import atomic_write

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM cannot be caught on Windows")
def test_sigterm_saves_model_and_checkpoint_and_the_run_resumes(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    argv = [sys.executable, "-m", "gymsuite", "train", "--algo", "ppo", "--env", "CartPole-v1",
            "--timesteps", "10000000", "--checkpoint-freq", "512", "--eval-freq", "0", "--run-dir", str(run.root)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # this checkout's packages, not the installed ones
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while run.latest_checkpoint() is None and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert run.latest_checkpoint() is not None, proc.stderr.read() if proc.poll() is not None else "no checkpoint"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "--resume" in err and "Traceback" not in err
    steps = run.latest_checkpoint()
    assert run.model.is_file() and steps is not None and not run.eval.exists()
    assert run.checkpoint(steps, "_state.npz").is_file()  # the checkpoint taken on the way out
    config = yaml.safe_load(run.config.read_text())  # finish soon: a short remainder instead of 10M steps
    run.config.write_text(yaml.safe_dump({**config, "timesteps": steps + 512}))
    result = resume(run.root)
    assert not result.interrupted and result.steps >= steps + 512 and run.eval.is_file()


def test_resume_cleans_temporaries_and_orphaned_checkpoint_parts(in_tmp: Path) -> None:
    cfg = build_config({"algo": "ppo", "env": "CartPole-v1", "timesteps": 512, "n_envs": 2, "checkpoint_freq": 128,
                        "eval_freq": 0, "eval_episodes": 1}, None, ["batch_size=64"])  # one whole rollout
    first = train(cfg, "run")
    run = first.run
    latest = run.latest_checkpoint()
    assert latest is not None
    # What kills leave: atomic_write temporaries (interrupted mid-write), a pruned checkpoint's
    # normaliser whose zip is gone, a checkpoint cut off before its zip was written.
    debris = [run.checkpoints / ".ckpt_640.k2j_x9qa.zip", run.checkpoints / ".ckpt_640_replay.abcd1234.pkl",
              run.root / ".model.zz99aa00.zip", run.root / ".vecnormalize.q1w2e3r4.pkl",
              run.checkpoints / "ckpt_64_vecnormalize.pkl", run.checkpoints / f"ckpt_{latest + 64}_state.npz"]
    for path in debris:
        path.write_bytes(b"partial")
    run.config.write_text(yaml.safe_dump({**yaml.safe_load(run.config.read_text()), "timesteps": 768}))
    resume(run.root)
    assert not any(path.exists() for path in debris)
    assert run.model.is_file() and run.config.is_file() and run.eval.is_file()


def test_clean_keeps_complete_checkpoints_and_atomic_write_temporaries_match(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run.create()
    for part in (".zip", "_vecnormalize.pkl", "_state.npz"):
        run.checkpoint(100, part).write_bytes(b"x")
    names: list[str] = []

    def crash(tmp: Path) -> None:  # a write killed halfway: its temporary stays
        names.append(tmp.name)
        tmp.write_bytes(b"half")
        os.link(tmp, tmp.with_name("kept-" + tmp.name))  # the unlink in atomic_write's finally removes only one name
        raise RuntimeError

    with pytest.raises(RuntimeError):
        atomic_write(run.checkpoint(200), crash)
    leftover = run.checkpoints / names[0]
    os.replace(run.checkpoints / ("kept-" + names[0]), leftover)
    assert run.clean() == [leftover]
    assert sorted(p.name for p in run.checkpoints.iterdir()) == ["ckpt_100.zip", "ckpt_100_state.npz",
                                                                  "ckpt_100_vecnormalize.pkl"]


def _policy(model_zip: Path) -> dict[str, torch.Tensor]:
    with zipfile.ZipFile(model_zip) as archive, archive.open("policy.pth") as file:
        return torch.load(file, weights_only=True)


def _assert_same_parameters(a: Path, b: Path) -> None:
    pa, pb = _policy(a), _policy(b)
    assert pa.keys() == pb.keys()
    for key in pa:
        assert torch.equal(pa[key], pb[key]), key


class Killed(BaseException):
    """A kill -9 stand-in: nothing of the run handles it, nothing is saved on the way out."""


def test_same_seed_twice_gives_identical_parameters(tmp_path: Path) -> None:
    cfg = build_config({"algo": "ppo", "env": "CartPole-v1", "timesteps": 768, "eval_freq": 0, "eval_episodes": 1})
    first, second = train(cfg, tmp_path / "a"), train(cfg, tmp_path / "b")
    _assert_same_parameters(first.run.model, second.run.model)
    assert first.eval["returns"] == second.eval["returns"]


_SMALL = ["n_steps=32", "batch_size=64", "n_epochs=2"]


@pytest.mark.parametrize(("algo", "env", "n_envs", "timesteps", "every", "hyper"), [
    ("ppo", "CartPole-v1", 8, 1024, 512, []),  # rollouts of 8 x 32 steps
    ("dqn", "CartPole-v1", 1, 2048, 1024, []),  # learning starts at 1000, so the resumed part trains
    ("ppo", "Acrobot-v1", 4, 2048, 1024, []),  # VecNormalize: its running returns are part of the state
    # the memory tasks: velocities masked by a wrapper, the T-maze's cue and place, a window backbone's history
    ("ppo", "gymsuite/CartPoleNoVel-v0", 4, 512, 256, _SMALL),
    ("ppo", "gymsuite/TMaze-v0", 4, 512, 256, _SMALL),
    ("ppo", "gymsuite/CartPoleNoVel-v0", 4, 512, 256, [*_SMALL, "backbone=framestack", "backbone_kwargs={context: 4}"]),
    # domain randomisation: its generator, the episode's draw and ADR's ranges and buffers (threshold 10: it widens)
    ("ppo", "CartPole-v1", 4, 512, 256, [*_SMALL, "randomize={length: [0.5x, 2x], masscart: [1x, 1x], adr: {bounds: "
                                         "[0.25x, 4x], threshold: 10, step: 0.1x, episodes: 2}}"]),
])
def test_run_killed_after_a_checkpoint_resumes_to_identical_parameters(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, algo: str, env: str, n_envs: int, timesteps: int,
        every: int, hyper: list[str]) -> None:
    cfg = build_config({"algo": algo, "env": env, "n_envs": n_envs, "timesteps": timesteps,
                        "checkpoint_freq": every, "eval_freq": 0, "eval_episodes": 2}, None, hyper)
    whole = train(cfg, tmp_path / "whole")
    save = callbacks.save_checkpoint

    def save_then_die(*args: object, **kwargs: object) -> int:
        steps = save(*args, **kwargs)  # type: ignore[arg-type]
        raise Killed(steps)

    monkeypatch.setattr(callbacks, "save_checkpoint", save_then_die)
    with pytest.raises(Killed):
        train(cfg, tmp_path / "killed")
    monkeypatch.setattr(callbacks, "save_checkpoint", save)
    run = RunDir(tmp_path / "killed")
    assert run.latest_checkpoint() == every and not run.model.exists()
    resumed = resume(run.root)
    assert resumed.steps == whole.steps
    _assert_same_parameters(whole.run.model, run.model)
    assert resumed.eval["returns"] == whole.eval["returns"]


def test_envs_without_a_state_attribute_restart_on_resume(tmp_path: Path) -> None:
    from stable_baselines3 import PPO

    from gymsuite.agents.files.resumestate import load_state, save_state
    from gymsuite.envs.factory import make_env

    venv = make_env("tests.toy_envs:Counter", n_envs=2, seed=0)  # keeps its count in a private field
    model = PPO("MlpPolicy", venv, n_steps=16, batch_size=32, seed=0)
    model.learn(32)
    save_state(model, tmp_path / "state.npz", at_boundary=True)
    model.ep_info_buffer.clear()
    expected = torch.get_rng_state()
    torch.rand(3)
    assert load_state(model, tmp_path / "state.npz") is False and model._last_obs is None  # learn() resets
    assert torch.equal(torch.get_rng_state(), expected)  # the generators still continue
    model.learn(16, reset_num_timesteps=False)
    assert model.num_timesteps == 64  # one more rollout of 2 envs x 16 steps, from reset envs


def test_checkpoints_as_the_readme_says(tmp_path: Path) -> None:
    """Default: every tenth of the run but at most one per 30 s; --checkpoint-freq N: every N steps, newest two."""
    settings = {"algo": "ppo", "env": "CartPole-v1", "timesteps": 2048, "eval_freq": 0, "eval_episodes": 1}
    short = train(build_config(settings), tmp_path / "default")  # a second or two: no periodic checkpoint yet
    assert list(short.run.checkpoints.iterdir()) == []
    every = train(build_config({**settings, "checkpoint_freq": 512}), tmp_path / "every")
    # at the rollout starts (8 envs x 32 steps) 512, 1024 and 1536; 2048 ends the run
    assert every.run.latest_checkpoint() == 1536 and not every.run.checkpoint(512).exists()
    assert every.run.checkpoint(1024).is_file() and every.run.checkpoint(1024, "_state.npz").is_file()
