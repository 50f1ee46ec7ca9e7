"""policy_kwargs checked with the config (keys the run's policy takes, finite numbers, net_arch's layers), and the
rollout buffer's RAM checked before the model is built: exit 2 naming the key, nothing written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3.common.buffers import DictRolloutBuffer, RolloutBuffer

from gymsuite.agents.files import replaymemory
from gymsuite.agents.run import training
from gymsuite.agents.run.config import build_config
from gymsuite.agents.run.policycheck import rollout_bytes
from gymsuite.commands import _cli, train
from gymsuite.common.errors import UserError


def _config(algo: str, *overrides: str) -> object:
    return build_config({"algo": algo, "env": "CartPole-v1"}, overrides=list(overrides))


@pytest.mark.parametrize(("algo", "policy_kwargs", "key"), [
    ("ppo", "{log_std_init: .inf}", "policy_kwargs.log_std_init"),
    ("ppo", "{log_std_init: .nan}", "policy_kwargs.log_std_init"),
    ("a2c", "{log_std_init: high}", "policy_kwargs.log_std_init"),
    ("ppo", "{net_arch: [0]}", "policy_kwargs.net_arch"),
    ("ppo", "{net_arch: [64, -1]}", "policy_kwargs.net_arch"),
    ("ppo", "{net_arch: [64.5]}", "policy_kwargs.net_arch"),
    ("ppo", "{net_arch: [true]}", "policy_kwargs.net_arch"),
    ("ppo", "{net_arch: 64}", "policy_kwargs.net_arch"),
    ("ppo", "{net_arch: {pi: [64], vf: [0]}}", "policy_kwargs.net_arch.vf"),
    ("ppo", "{net_arch: {pi: [64], qf: [64]}}", "policy_kwargs.net_arch"),
    ("ppo", "{net_arch: [64, {pi: [64], vf: [64]}]}", "policy_kwargs.net_arch"),  # SB3 1.x's shared layers
    ("dqn", "{net_arch: {pi: [64], vf: [64]}}", "policy_kwargs.net_arch"),  # DQN's Q-network takes a list
    ("dqn", "{net_arch: [0]}", "policy_kwargs.net_arch"),
    ("pg", "{net_arch: [0]}", "policy_kwargs.net_arch"),
    ("ppo", "{ortho_init: maybe}", "policy_kwargs.ortho_init"),
    ("ppo", "{optimizer_kwargs: {eps: .inf}}", "policy_kwargs.optimizer_kwargs.eps"),
    ("ppo", "{features_extractor_kwargs: {scale: .nan}}", "policy_kwargs.features_extractor_kwargs.scale"),
    ("ppo", "{optimizer_kwargs: 3}", "policy_kwargs.optimizer_kwargs"),
])
def test_bad_policy_kwargs_values_are_refused_naming_the_key(algo: str, policy_kwargs: str, key: str) -> None:
    with pytest.raises(UserError) as err:
        _config(algo, f"policy_kwargs={policy_kwargs}")
    assert err.value.message.startswith(f"bad value for {key}:")


def test_lstm_sizes_are_checked_against_recurrent_ppo_s_policy() -> None:
    with pytest.raises(UserError) as err:
        _config("ppo", "backbone=lstm", "policy_kwargs={lstm_hidden_size: 0}")
    assert "policy_kwargs.lstm_hidden_size" in err.value.message
    with pytest.raises(UserError) as err:  # plain PPO's policy has no LSTM
        _config("ppo", "policy_kwargs={lstm_hidden_size: 8}")
    assert "unknown policy_kwargs key 'lstm_hidden_size' for ppo (ActorCriticPolicy)" in err.value.message


@pytest.mark.parametrize(("algo", "key", "close"), [("ppo", "orth_init", "ortho_init"), ("dqn", "ortho_init", None),
                                                   ("a2c", "netarch", "net_arch")])
def test_unknown_policy_kwargs_keys_list_the_policy_s_own(algo: str, key: str, close: str | None) -> None:
    with pytest.raises(UserError) as err:
        _config(algo, f"policy_kwargs={{{key}: 1}}")
    assert f"unknown policy_kwargs key {key!r} for {algo}" in err.value.message
    hint = str(err.value.hint)
    assert "net_arch, activation_fn" in hint and ("ortho_init" in hint) == (algo != "dqn")
    assert (f"did you mean {close!r}?" in hint) == (close is not None)


@pytest.mark.parametrize(("algo", "policy_kwargs"), [
    ("ppo", "{net_arch: [64, 64], ortho_init: false, log_std_init: -0.5, activation_fn: relu}"),
    ("ppo", "{net_arch: {pi: [32], vf: []}, optimizer_kwargs: {eps: 1.0e-5}}"),
    ("ppo", "{net_arch: [], share_features_extractor: false}"),
    ("dqn", "{net_arch: [256, 256], normalize_images: false}"),
    ("a2c", "{net_arch: null}"),
])
def test_good_policy_kwargs_pass(algo: str, policy_kwargs: str) -> None:
    _config(algo, f"policy_kwargs={policy_kwargs}")


def test_train_refuses_bad_policy_kwargs_before_anything_is_written(in_tmp: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("{log_std_init: .inf}", "{log_std_init: .nan}", "{net_arch: [0]}"):
        assert _cli.run(train.main, ["--algo", "ppo", "--env", "Pendulum-v1", "--run-dir", "r",
                                     "--hyperparams", f"policy_kwargs={bad}"]) == 2
        err = capsys.readouterr().err
        assert "policy_kwargs." in err and len(err.splitlines()) == 2 and not Path("r").exists()


@pytest.mark.parametrize(("observation", "action"), [
    (spaces.Box(-1, 1, (4,), np.float32), spaces.Discrete(2)),
    (spaces.Box(0, 255, (4, 84, 84), np.uint8), spaces.Box(-1, 1, (3,), np.float32)),
])
def test_rollout_estimate_is_what_sb3_allocates(observation: spaces.Space, action: spaces.Space) -> None:
    buffer = RolloutBuffer(16, observation, action, n_envs=3)
    allocated = sum(a.nbytes for a in vars(buffer).values() if isinstance(a, np.ndarray))
    assert rollout_bytes(16, 3, observation, action) == allocated
    both = spaces.Dict({"image": spaces.Box(0, 255, (3, 8, 8), np.uint8), "x": spaces.Box(-1, 1, (2,))})
    dict_buffer = DictRolloutBuffer(16, both, action, n_envs=3)
    allocated = sum(a.nbytes for a in [*dict_buffer.observations.values(), *vars(dict_buffer).values()]
                    if isinstance(a, np.ndarray))
    assert rollout_bytes(16, 3, both, action) == allocated


def test_a_rollout_too_big_for_ram_is_refused_before_the_run_exists(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = build_config({"algo": "ppo", "env": "CartPole-v1", "n_envs": 2, "timesteps": 64},
                       overrides=["n_steps=1e11", "batch_size=64"])
    run = tmp_path / "run"
    with pytest.raises(UserError) as err:
        training.train(cfg, run)  # 2e11 steps x (4 float32 + 1 int64 + 6 float32: 48 bytes) = 8,941 GiB
    assert "n_steps=100,000,000,000 x 2 envs needs about 8,940.7 GiB" in err.value.message
    assert "n_steps=" in str(err.value.hint) and not run.exists()
    monkeypatch.setattr(replaymemory, "available_bytes", lambda: 2**20)  # 1 MiB free
    small = build_config({"algo": "a2c", "env": "CartPole-v1", "n_envs": 2, "timesteps": 64},
                         overrides=["n_steps=20000"])  # 20,000 x 2 x 48 bytes: 1.8 MiB
    with pytest.raises(UserError) as err:
        training.prepare(small)
    assert "n_steps=8738 or fewer" in str(err.value.hint)
