"""Backbones by name through the pipeline: ppo, a2c, dqn and pg train with one; bad input stops before the disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from stable_baselines3 import PPO

from gymsuite.agents.algorithms import registry
from gymsuite.agents.run import config
from gymsuite.agents.run.config import build_config, resolve_device
from gymsuite.agents.run.resolved import model_kwargs
from gymsuite.agents.run.training import prepare, train
from gymsuite.agents.saved.loading import load_model_file
from gymsuite.commands import _cli, evaluate
from gymsuite.commands import train as train_command
from gymsuite.common.errors import UserError
from gymsuite.supervised.attention import PatchAttention
from gymsuite.supervised.backbone import encoder_of
from gymsuite.supervised.cnns import SmallCnn
from tests.toy_envs import TOY_FILE

CORRIDOR = f"{TOY_FILE}:Corridor"
TINY = ["n_steps=32", "batch_size=32", "n_epochs=1"]


@pytest.mark.parametrize(("backbone", "cls"), [("small_cnn", SmallCnn), ("attention", PatchAttention)])
def test_ppo_with_a_named_backbone_trains_saves_and_loads_with_plain_sb3(in_tmp: Path, backbone: str,
                                                                          cls: type) -> None:
    cfg = build_config({"algo": "ppo", "env": CORRIDOR, "timesteps": 64, "n_envs": 2, "eval_episodes": 1,
                        "eval_max_episode_steps": 20},
                       None, [*TINY, f"backbone={backbone}", "backbone_kwargs={features_dim: 16}"])
    result = train(cfg, "r")
    assert result.steps == 64
    saved = yaml.safe_load(Path("r/config.yaml").read_text())["hyperparams"]
    assert saved["backbone"] == backbone and saved["backbone_kwargs"] == {"features_dim": 16}  # plain data
    model = PPO.load("r/model.zip", device="cpu")
    extractor = model.policy.features_extractor
    assert isinstance(extractor, cls) and extractor.features_dim == 16
    obs = np.zeros((3, 3, 12, 12), np.uint8)  # SB3 transposed Corridor's (12, 12, 3) to channels first
    assert model.predict(obs, deterministic=True)[0].shape == (3,)
    assert isinstance(load_model_file(PPO, Path("r/model.zip")).policy.features_extractor, cls)  # no unpickling


@pytest.mark.parametrize("algo", ["a2c", "dqn", "pg"])
def test_other_algorithms_build_and_train_with_a_backbone(algo: str) -> None:
    extra = {"dqn": ["learning_starts=0", "buffer_size=500", "batch_size=8", "train_freq=4"],
             "a2c": ["n_steps=8"], "pg": ["n_steps=8"]}[algo]
    cfg = build_config({"algo": algo, "env": CORRIDOR, "timesteps": 32, "n_envs": 2}, None,
                       [*extra, "backbone=small_cnn", "backbone_kwargs={features_dim: 8, channels: [4, 8]}"])
    built = prepare(cfg)
    venv, model = built.venv, built.model
    try:
        extractor = encoder_of(model.policy)  # DQN's q_net's, else the actor-critic's
        assert isinstance(extractor, SmallCnn) and extractor.features_dim == 8
        before = [p.detach().clone() for p in extractor.parameters()]
        model.learn(32)
        assert any(not torch.equal(a, b) for a, b in zip(before, extractor.parameters(), strict=True))
    finally:
        venv.close()


@pytest.mark.parametrize(("share_trunk", "shared"), [(True, True), (False, False)])
def test_pg_share_trunk_decides_whether_actor_and_critic_share_the_backbone(share_trunk: bool, shared: bool) -> None:
    cfg = build_config({"algo": "pg", "env": CORRIDOR, "timesteps": 16, "n_envs": 1}, None,
                       ["n_steps=8", "backbone=small_cnn", f"share_trunk={share_trunk}"])
    built = prepare(cfg)
    venv, model = built.venv, built.model
    venv.close()
    policy = model.policy
    assert policy.share_features_extractor is shared
    assert isinstance(policy.pi_features_extractor, SmallCnn)
    assert (policy.pi_features_extractor is policy.vf_features_extractor) is shared


def test_an_image_without_a_named_backbone_gets_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    cfg = build_config({"algo": "ppo", "env": CORRIDOR, "timesteps": 32, "n_envs": 1}, None, TINY)
    built = prepare(cfg)
    venv, model = built.venv, built.model
    venv.close()
    assert isinstance(model.policy.features_extractor, SmallCnn)  # 12x12: too small for nature_cnn
    assert built.resolved.hyperparams["backbone"] == "small_cnn" and "backbone=small_cnn" in capsys.readouterr().err
    assert "backbone" not in cfg.hyperparams  # decided in resolution, not written into the validated config
    vector = build_config({"algo": "ppo", "env": "CartPole-v1", "timesteps": 32, "n_envs": 1}, None, TINY)
    venv = prepare(vector).venv
    venv.close()
    assert "backbone" not in vector.hyperparams


@pytest.mark.parametrize(("overrides", "says"), [
    (["backbone=smal_cnn"], "small_cnn"),
    (["backbone=small_cnn", "backbone_kwargs={feature_dim: 8}"], "features_dim"),
    (["backbone_kwargs={features_dim: 8}"], "backbone=NAME"),
    (["backbone=small_cnn", "policy_kwargs={features_extractor_class: icm_cnn}"], "one of them"),
])
def test_bad_backbone_hyperparameters_are_refused_by_the_config(overrides: list[str], says: str) -> None:
    with pytest.raises(UserError) as err:
        build_config({"algo": "ppo", "env": "CartPole-v1"}, None, overrides)
    assert says in str(err.value)


@pytest.mark.parametrize(("env", "backbone", "says"), [("CartPole-v1", "small_cnn", "mlp"),
                                                        (CORRIDOR, "nature_cnn", "small_cnn")])
def test_a_backbone_that_cannot_take_the_observation_leaves_no_run_directory(
        in_tmp: Path, capsys: pytest.CaptureFixture[str], env: str, backbone: str, says: str) -> None:
    code = _cli.run(train_command.main, ["--algo", "ppo", "--env", env, "--timesteps", "64", "--run-dir", "r",
                                         "--hyperparams", f"backbone={backbone}"])
    assert code == 2 and not Path("r").exists()
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without a GPU")
def test_device_cuda_without_a_gpu_is_a_clean_error(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = _cli.run(train_command.main, ["--algo", "ppo", "--env", "CartPole-v1", "--timesteps", "64",
                                         "--run-dir", "r", "--device", "cuda"])
    assert code == 2 and not Path("r").exists() and "--device cpu" in capsys.readouterr().err
    assert resolve_device("auto", image=True) == "cpu" and resolve_device("cpu", image=True) == "cpu"


def test_auto_device_puts_only_image_backbones_on_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config.torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto", image=True) == "cuda" and resolve_device("auto", image=False) == "cpu"
    spec = registry.get("ppo")
    vector = build_config({"algo": "ppo", "env": "CartPole-v1"})
    image = build_config({"algo": "ppo", "env": CORRIDOR}, None, ["backbone=small_cnn"])
    assert model_kwargs(spec, vector)[1]["device"] == "cpu"
    assert model_kwargs(spec, image)[1]["device"] == "cuda"
    assert model_kwargs(spec, build_config({"algo": "ppo", "env": CORRIDOR, "device": "cpu"}, None,
                                           ["backbone=small_cnn"]))[1]["device"] == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU (run on the device machine)")
def test_an_image_run_trains_on_the_gpu_and_evaluates_on_the_cpu(in_tmp: Path) -> None:
    cfg = build_config({"algo": "ppo", "env": CORRIDOR, "timesteps": 64, "n_envs": 2, "eval_episodes": 1,
                        "eval_max_episode_steps": 20}, None, [*TINY, "backbone=small_cnn"])
    built = prepare(cfg)
    venv, model = built.venv, built.model
    venv.close()
    assert model.device.type == "cuda"  # auto: a GPU and an image backbone
    train(cfg, "r")
    assert _cli.run(evaluate.main, ["r", "--json", "--episodes", "1", "--max-episode-steps", "20"]) == 0
    loaded = load_model_file(PPO, Path("r/model.zip"))
    assert all(p.device.type == "cpu" for p in loaded.policy.parameters())
