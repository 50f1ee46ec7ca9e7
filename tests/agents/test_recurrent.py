"""``backbone=lstm`` end to end: the LSTM state carried within episodes and zeroed at their ends, saved agents
acting as sb3-contrib's ``RecurrentPPO`` does, the commands, ``--resume``, and the errors.

CartPole-v1 serves for the plumbing; gymsuite/TMaze-v0 (length 2) is the one-bit memory task.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
import yaml
from gymnasium import spaces
from sb3_contrib import RecurrentPPO
from stable_baselines3.common.vec_env import DummyVecEnv

from gymsuite.agents.files.modelfile import read_model_file
from gymsuite.agents.files.rundir import RunDir
from gymsuite.agents.run import callbacks
from gymsuite.agents.run.config import build_config
from gymsuite.agents.run.training import prepare, resume, train
from gymsuite.agents.saved.loading import LoadedAgent, load_agent, make_agent_env
from gymsuite.commands import _cli, collect_demos, evaluate, probe, record
from gymsuite.commands import train as train_command
from gymsuite.common.errors import UserError

TINY = ["backbone=lstm", "backbone_kwargs={hidden_size: 8}", "n_steps=32", "batch_size=64", "n_epochs=1"]


def _settings(**extra: Any) -> dict[str, Any]:
    return {"algo": "ppo", "env": "CartPole-v1", "timesteps": 128, "n_envs": 2, "eval_episodes": 2, "eval_freq": 0,
            "checkpoint_freq": 0, **extra}


@pytest.fixture(scope="module")
def lstm_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 128-step RecurrentPPO run on CartPole-v1 (LSTM of 8, periodic evaluation), shared by the tests that read it."""
    run = tmp_path_factory.mktemp("lstm") / "run"
    train(build_config(_settings(eval_freq=64), None, TINY), run)
    return run


class FixedLength(gym.Env):
    """Random observations ``(2,)``; every episode lasts exactly ``length`` steps."""

    observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self, length: int) -> None:
        self.length, self.t = length, 0

    def _obs(self) -> np.ndarray:
        return self.np_random.uniform(-1, 1, 2).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        return self._obs(), 0.0, self.t >= self.length, False, {}


def test_state_is_zeroed_exactly_where_an_episode_ends_in_a_vector_env() -> None:
    venv = DummyVecEnv([lambda: FixedLength(3), lambda: FixedLength(5)])
    venv.seed(0)
    model = RecurrentPPO("MlpLstmPolicy", venv, n_steps=8, batch_size=16, seed=0,
                         policy_kwargs={"lstm_hidden_size": 4})
    agent = LoadedAgent(model, "ppo", None)
    obs, dones = venv.reset(), np.ones(2, dtype=bool)
    alone: list[Any] = [None, None]  # each env's state, from RecurrentPPO's own predict on that env alone
    boundaries = 0
    for step in range(12):
        carried = agent.memory
        wanted = []
        for i in range(2):
            action, alone[i] = model.predict(obs[i:i + 1], alone[i], dones[i:i + 1], deterministic=True)
            wanted.append(action[0])
        actions = agent.act(obs, venv, episode_start=dones)
        np.testing.assert_array_equal(actions, wanted)
        assert agent.memory is not None
        for i in range(2):
            for part in range(2):  # h and c, each (layers, N, hidden)
                np.testing.assert_allclose(agent.memory[part][:, i], alone[i][part][:, 0], atol=1e-6)
        if step > 0 and dones.any() and not dones.all():  # one env starts an episode, the other goes on
            boundaries += 1
            ended = int(np.flatnonzero(dones)[0])
            _, kept = model.predict(obs, carried, np.zeros(2, dtype=bool), deterministic=True)
            # without the reset the ended env's state would be another; the running env's is the carried one's
            assert not np.allclose(agent.memory[0][:, ended], kept[0][:, ended])
            np.testing.assert_allclose(agent.memory[0][:, 1 - ended], kept[0][:, 1 - ended], atol=1e-6)
        obs, _, dones, _ = venv.step(actions)
    assert boundaries >= 3  # env 0 ends at steps 3, 6, 9 and env 1 at 5, 10


def test_saved_agent_acts_as_recurrent_ppo_load_does(lstm_run: Path, tmp_path: Path) -> None:
    agent = load_agent(str(lstm_run))
    assert agent.recurrent and agent.hyperparams is not None and agent.hyperparams["backbone"] == "lstm"
    assert load_agent(str(lstm_run), which="best").recurrent  # kept by the periodic evaluation
    reference = RecurrentPPO.load(lstm_run / "model.zip", device="cpu")
    bare = tmp_path / "alone.zip"
    shutil.copy(lstm_run / "model.zip", bare)
    guessed = load_agent(str(bare), env="CartPole-v1")  # no run dir: guessed as ppo + lstm
    assert guessed.algo == "ppo" and guessed.recurrent
    venv = make_agent_env(agent, seed=3, n_envs=2)
    obs, dones = venv.reset(), np.ones(2, dtype=bool)
    state, ends = None, 0
    for _ in range(60):
        want, state = reference.predict(obs, state, dones, deterministic=False if ends % 2 else True)
        torch.manual_seed(ends)
        got = agent.act(obs, venv, ends % 2 == 0, episode_start=dones)
        torch.manual_seed(ends)
        also = guessed.act(obs, venv, ends % 2 == 0, episode_start=dones)
        if ends % 2 == 0:
            np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(got, also)
        for mine, theirs in zip(agent.memory or (), state, strict=True):
            np.testing.assert_allclose(mine, theirs, atol=1e-6)
        obs, _, dones, _ = venv.step(got)
        ends += int(dones.any())
    assert ends >= 2


def test_a_plain_sb3_contrib_zip_loads_without_unpickling(tmp_path: Path) -> None:
    venv = DummyVecEnv([lambda: gym.make("CartPole-v1")])
    model = RecurrentPPO("MlpLstmPolicy", venv, n_steps=8, batch_size=8, seed=0,
                         policy_kwargs={"lstm_hidden_size": 4, "shared_lstm": True, "enable_critic_lstm": False})
    model.save(tmp_path / "contrib.zip")  # no gymsuite description of its spaces: they come from SB3's printed fields
    info = read_model_file(tmp_path / "contrib.zip")
    assert info.recurrent and info.algo_class == "RecurrentPPO"
    agent = load_agent(str(tmp_path / "contrib.zip"), env="CartPole-v1")
    assert agent.algo == "ppo" and agent.recurrent
    obs = np.array([[0.01, 0.2, -0.03, 0.1]], np.float32)
    want, state = model.predict(obs, None, np.ones(1, dtype=bool), deterministic=True)
    np.testing.assert_array_equal(agent.act(obs, venv, episode_start=np.ones(1, dtype=bool)), want)
    np.testing.assert_allclose(agent.memory[0], state[0], atol=1e-6)  # type: ignore[index]


def test_commands_evaluate_record_collect_demos_and_probe_an_lstm_run(lstm_run: Path, in_tmp: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.run(evaluate.main, [str(lstm_run), "--json", "--episodes", "3"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["episodes"] == 3 and result["mean_return"] > 0
    assert _cli.run(record.main, [str(lstm_run), "--out", "x.mp4", "--max-episode-steps", "20"]) == 0
    assert Path("x.mp4").stat().st_size > 0
    assert _cli.run(collect_demos.main, [str(lstm_run), "--episodes", "2", "--out", "d.npz"]) == 0
    with np.load("d.npz", allow_pickle=False) as demos:
        assert len(demos["lengths"]) == 2 and demos["obs"].shape[1:] == (4,)
    assert _cli.run(probe.main, [str(lstm_run), "--episodes", "6", "--json", "--random-init"]) == 0
    probed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert probed["features"] == 4  # the LSTM's encoder: RecurrentPPO flattens CartPole's 4 numbers


class Killed(BaseException):
    """A kill -9 stand-in: nothing of the run handles it."""


@pytest.mark.parametrize("env", ["CartPole-v1", "gymsuite/CartPoleNoVel-v0"])  # NoVel: a masking wrapper, normalize
def test_lstm_run_killed_after_a_checkpoint_resumes_to_identical_parameters(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch,
                                                                           env: str) -> None:
    cfg = build_config(_settings(env=env, timesteps=256, checkpoint_freq=128), None, TINY)
    whole = train(cfg, tmp_path / "whole")
    save = callbacks.save_checkpoint

    def save_then_die(*args: object, **kwargs: object) -> int:
        raise Killed(save(*args, **kwargs))  # type: ignore[arg-type]

    monkeypatch.setattr(callbacks, "save_checkpoint", save_then_die)
    with pytest.raises(Killed):
        train(cfg, tmp_path / "killed")
    monkeypatch.setattr(callbacks, "save_checkpoint", save)
    run = RunDir(tmp_path / "killed")
    assert run.latest_checkpoint() == 128
    with np.load(run.checkpoint(128, "_state.npz")) as state:
        assert state["lstm.pi.h"].shape == (1, 2, 8) and np.abs(state["lstm.pi.h"]).sum() > 0
    resumed = resume(run.root)
    assert resumed.steps == whole.steps
    for key, value in RecurrentPPO.load(whole.run.model).policy.state_dict().items():
        assert torch.equal(value, RecurrentPPO.load(run.model).policy.state_dict()[key]), key
    assert resumed.eval["returns"] == whole.eval["returns"]


@pytest.mark.filterwarnings("ignore:.*step cap")  # 20 steps of a 245-step MiniGrid episode
def test_image_observations_reach_the_lstm_through_an_encoder(tmp_path: Path) -> None:
    cfg = build_config(_settings(env="MiniGrid-MemoryS7-v0", timesteps=64, eval_episodes=1,
                                 eval_max_episode_steps=20), None, TINY)
    result = train(cfg, tmp_path / "run")
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["hyperparams"]
    assert saved["backbone"] == "lstm" and saved["backbone_kwargs"]["encoder"] == "small_cnn"  # 7x7 view
    assert result.eval["episodes"] == 1
    agent = load_agent(str(tmp_path / "run"))
    assert type(agent.model.policy.features_extractor).__name__ == "SmallCnn"  # type: ignore[union-attr]


def test_freeze_backbone_freezes_the_lstm_encoder_only() -> None:
    built = prepare(build_config(_settings(), None, [*TINY, "backbone_kwargs={hidden_size: 8, encoder: mlp}",
                                                      "freeze_backbone=true"]))
    try:
        policy = built.model.policy
        assert not any(p.requires_grad for p in policy.features_extractor.parameters())
        assert all(p.requires_grad for p in policy.lstm_actor.parameters())  # type: ignore[attr-defined]
    finally:
        built.venv.close()


def test_curiosity_trains_beside_an_lstm(tmp_path: Path) -> None:
    result = train(build_config(_settings(curiosity="rnd", eval_episodes=1), None, TINY), tmp_path / "run")
    assert result.steps == 128 and (tmp_path / "run" / "curiosity.pt").is_file()
    assert load_agent(str(tmp_path / "run")).recurrent


@pytest.mark.parametrize(("algo", "extra", "key"), [
    ("a2c", [], "ppo"), ("dqn", [], "ppo"), ("pg", [], "ppo"),
    ("ppo", ["backbone_kwargs={critic: both}"], "critic"),
    ("ppo", ["aux=reconstruction"], "aux"),
    ("ppo", ["backbone_kwargs={encoder: small_cnm}"], "small_cnn"),
])
def test_lstm_is_refused_where_it_cannot_train(algo: str, extra: list[str], key: str) -> None:
    with pytest.raises(UserError, match=key):
        build_config({"algo": algo, "env": "CartPole-v1"}, None, ["backbone=lstm", *extra])


def test_train_command_refuses_lstm_with_a2c_cleanly(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.run(train_command.main, ["--algo", "a2c", "--env", "CartPole-v1", "--run-dir", "r",
                                         "--hyperparams", "backbone=lstm"]) == 2
    err = capsys.readouterr().err
    assert "ppo" in err and "Traceback" not in err and not Path("r").exists()


def test_recurrent_and_plain_zips_are_not_loaded_as_each_other(lstm_run: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UserError, match="recurrent"):
        load_agent(str(lstm_run), algo="a2c")
    plain = tmp_path / "plain"
    train(build_config(_settings(timesteps=64), None, ["n_steps=32", "batch_size=64", "n_epochs=1"]), plain)
    mixed = tmp_path / "mixed"  # a plain run's config.yaml beside an lstm zip
    shutil.copytree(plain, mixed)
    shutil.copy(lstm_run / "model.zip", mixed / "model.zip")
    with pytest.raises(UserError, match="RecurrentPPO"):
        load_agent(str(mixed))
    swapped = tmp_path / "swapped"  # an lstm run's config.yaml beside a plain zip
    shutil.copytree(lstm_run, swapped)
    shutil.copy(plain / "model.zip", swapped / "model.zip")
    with pytest.raises(UserError, match="lstm"):
        load_agent(str(swapped))
    assert _cli.run(evaluate.main, [str(mixed), "--episodes", "1"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_lstm_remembers_the_cue_that_mlp_cannot(tmp_path: Path) -> None:
    """The one-bit memory task: after 3k steps the LSTM turns the right way, the MLP guesses (expected return 0)."""
    returns = {}
    for name, backbone in (("lstm", ["backbone=lstm", "backbone_kwargs={hidden_size: 16}"]), ("mlp", [])):
        cfg = build_config(_settings(env="gymsuite/TMaze-v0", timesteps=3072, n_envs=4,
                                     eval_episodes=40), None,
                           ["env_kwargs={length: 2}", "n_steps=32", "batch_size=64", "n_epochs=4",
                            "learning_rate=3e-3", "ent_coef=0.0", *backbone])
        returns[name] = train(cfg, tmp_path / name).eval["mean_return"]
    assert returns["lstm"] >= 0.9 and abs(returns["mlp"]) <= 0.5, returns
