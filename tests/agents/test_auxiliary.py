"""Auxiliary losses during RL and pre-trained backbones: tiny real runs on the image env Corridor."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import DQN, PPO

from gymsuite.agents.run import training
from gymsuite.agents.run.auxiliary import AuxTrainer, aux_options
from gymsuite.agents.run.config import build_config
from gymsuite.agents.run.training import prepare, resume, train
from gymsuite.supervised.backbone import Backbone, encoder_of
from gymsuite.supervised.cnn import IcmCnn
from gymsuite.supervised.encoderfile import read_encoder, save_encoder
from tests.toy_envs import TOY_FILE

CORRIDOR = f"{TOY_FILE}:Corridor"
NET = "policy_kwargs={features_extractor_class: icm_cnn, features_extractor_kwargs: {features_dim: 16}, net_arch: [16]}"
TINY = {"ppo": ["n_steps=16", "batch_size=16", "n_epochs=2", "n_envs=2"],
        "a2c": ["n_steps=8", "n_envs=2"],
        "dqn": ["learning_starts=16", "buffer_size=500", "batch_size=16", "train_freq=4", "n_envs=1"]}


def config(algo: str, *hyper: str, timesteps: int = 64, **fields: Any) -> Any:
    cli = {"algo": algo, "env": CORRIDOR, "timesteps": timesteps, "eval_freq": 0, "eval_episodes": 1,
           "eval_max_episode_steps": 10, "checkpoint_freq": 0, **fields}
    return build_config(cli, None, [NET, *TINY[algo], *hyper])


def logged(run: Path, key: str) -> list[float]:
    with open(run / "logs" / "progress.csv") as f:
        return [float(row[key]) for row in csv.DictReader(f) if row.get(key)]


@pytest.mark.parametrize("algo", ["ppo", "dqn", "a2c"])
def test_aux_recon_trains_logs_and_saves_beside_a_plain_sb3_model(in_tmp: Path, algo: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "_log_interval", lambda model: 1)  # a dump per rollout (else every 2048 steps)
    result = train(config(algo, "aux=recon", "aux_coef=0.5", timesteps=96), "run")
    losses = logged(result.run.root, "aux/recon_loss")
    assert losses and all(0 < v < 1 for v in losses)
    assert logged(result.run.root, "aux/latent_l2")
    saved = torch.load(result.run.aux, weights_only=True)
    assert saved["aux"] == "recon" and saved["optimizer"]["state"]  # the decoder took steps
    cls = {"ppo": PPO, "dqn": DQN}.get(algo)
    if cls is not None:
        assert cls.load(result.run.model, device="cpu").policy is not None  # the decoder is not in the zip


def test_aux_gradient_adds_to_the_encoders_and_only_the_decoder_steps_on_its_own(in_tmp: Path) -> None:
    cfg = config("dqn", "aux=denoise", "aux_coef=1e4", "aux_kwargs={batch_size: 8}", "max_grad_norm=0.5")
    built = prepare(cfg)
    venv, model, aux = built.venv, built.model, built.aux
    assert aux is not None and aux.batch_size == 8
    model.learn(32)  # fills the replay buffer (learning starts at 16)
    encoder, target = encoder_of(model.policy), model.policy.q_net_target.features_extractor
    before = {k: v.clone() for k, v in aux.decoder.state_dict().items()}
    target_before = {k: v.clone() for k, v in target.state_dict().items()}
    model.policy.optimizer.zero_grad()
    aux.step()
    grads = [p.grad for p in encoder.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)  # aux_coef x the aux gradient, in place
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads if g is not None]))
    assert float(norm) <= model.max_grad_norm + 1e-4  # clipped as SB3 clips the RL gradient
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.policy.q_net.q_net.parameters())
    assert any(not torch.equal(before[k], v) for k, v in aux.decoder.state_dict().items())
    assert all(torch.equal(target_before[k], v) for k, v in target.state_dict().items())
    venv.close()


def test_aux_every_k_takes_one_step_in_k_and_a_resume_keeps_the_phase(in_tmp: Path) -> None:
    cfg = config("ppo", "aux=recon", "aux_kwargs={every: 3, batch_size: 8}")
    built = prepare(cfg)
    model, aux = built.model, built.aux
    assert aux is not None and aux.every == 3
    model.learn(32)  # one rollout in the buffer
    decoders = []
    for _ in range(6):
        before = {k: v.clone() for k, v in aux.decoder.state_dict().items()}
        model.policy.optimizer.zero_grad()
        aux.step()
        decoders.append(any(not torch.equal(before[k], v) for k, v in aux.decoder.state_dict().items()))
    assert decoders == [True, False, False, True, False, False]
    aux.save(Path("aux.pt"))
    again = AuxTrainer(model, aux_options(cfg.hyperparams), seed=0)
    again.load(Path("aux.pt"))
    assert aux.calls == again.calls == 6  # the next step is the seventh: skipped, as the uninterrupted run's
    built.venv.close()


def encoder_file(path: Path, seed: int = 3) -> Path:
    torch.manual_seed(seed)
    space = spaces.Box(0, 255, (3, 12, 12), np.uint8)  # Corridor as the model sees it (channels first)
    save_encoder(path, "icm_cnn", {"features_dim": 16}, space, IcmCnn(space, features_dim=16).state_dict())
    return path


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_backbone_init_loads_every_extractor(in_tmp: Path, algo: str) -> None:
    file = encoder_file(in_tmp / "e.pt")
    extra = ["policy_kwargs={features_extractor_class: icm_cnn, features_extractor_kwargs: {features_dim: 16}, "
             "net_arch: [16], share_features_extractor: false}"] if algo == "ppo" else []
    built = prepare(config(algo, f"backbone_init={file}", *extra))
    venv, model = built.venv, built.model
    saved = read_encoder(file)["state_dict"]
    extractors = [m for m in model.policy.modules() if isinstance(m, Backbone)]
    assert len(extractors) == 2  # ppo: actor and critic; dqn: online and target
    for extractor in extractors:
        assert all(torch.equal(saved[k], v) for k, v in extractor.state_dict().items())
    venv.close()


def test_frozen_pretrained_backbone_is_unchanged_by_training(in_tmp: Path) -> None:
    file = encoder_file(in_tmp / "e.pt")
    result = train(config("ppo", f"backbone_init={file}", "freeze_backbone=true", "aux=recon", timesteps=64), "run")
    model = PPO.load(result.run.model, device="cpu")
    saved = read_encoder(file)["state_dict"]
    extractor = model.policy.features_extractor
    assert all(torch.equal(saved[k], v) for k, v in extractor.state_dict().items())
    assert not any(p.requires_grad for p in extractor.parameters())  # freeze persists in the saved policy_kwargs
    head = model.policy.action_net.weight
    assert head.requires_grad


def test_resume_restores_the_decoder_of_the_checkpoint(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = train(config("ppo", "aux=recon", timesteps=128, checkpoint_freq=32), "run")
    steps = result.run.latest_checkpoint()
    assert steps is not None and steps < 128
    file = result.run.checkpoint(steps, "_aux.pt")
    saved = torch.load(file, weights_only=True)
    seen: dict[str, Any] = {}

    def capture(ctx: training.RunContext, **_: Any) -> None:
        assert isinstance(ctx.aux, AuxTrainer)
        seen["decoder"], seen["optimizer"] = ctx.aux.decoder.state_dict(), ctx.aux.optimizer.state_dict()

    with monkeypatch.context() as patch:
        patch.setattr(training, "_learn", capture)
        resume("run")
    assert all(torch.equal(saved["decoder"][k], v) for k, v in seen["decoder"].items())
    assert seen["optimizer"]["state"][0]["step"] == saved["optimizer"]["state"][0]["step"]
    assert resume("run").steps == 128  # and a real resume trains on with it


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_a_resumed_aux_run_ends_as_the_uninterrupted_one(in_tmp: Path, algo: str) -> None:
    """The decoder, its optimiser and its minibatch generator are restored, so resuming changes nothing."""
    extra = {"ppo": ["n_steps=16", "n_envs=2", "batch_size=16"],
             "dqn": ["learning_starts=16", "n_envs=1", "train_freq=4", "target_update_interval=20",
                     "buffer_size=500", "gradient_steps=1"]}[algo]
    cfg = build_config({"algo": algo, "env": "CartPole-v1", "timesteps": 128, "checkpoint_freq": 32, "eval_freq": 0,
                        "eval_episodes": 1}, None, [*extra, "aux=denoise"])
    first = train(cfg, "run")
    weights, decoder = first.run.model.read_bytes(), torch.load(first.run.aux, weights_only=True)["decoder"]
    assert first.run.latest_checkpoint() == 96
    resume("run")  # from step 96 again
    Path("uninterrupted.zip").write_bytes(weights)
    cls = {"ppo": PPO, "dqn": DQN}[algo]
    a, b = (cls.load(p, device="cpu").policy.state_dict() for p in ("uninterrupted.zip", first.run.model))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    after = torch.load(first.run.aux, weights_only=True)["decoder"]
    assert all(torch.equal(decoder[k], after[k]) for k in decoder)
