"""``gymsuite pretrain`` end to end, ``backbone_init`` from its file, and each bad input of aux and pretrain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from gymnasium import spaces

from gymsuite.commands import _cli, pretrain, train
from gymsuite.supervised.cnn import IcmCnn
from gymsuite.supervised.encoderfile import read_encoder, save_encoder
from tests.toy_envs import TOY_FILE

CORRIDOR = f"{TOY_FILE}:Corridor"
ICM = "policy_kwargs={features_extractor_class: icm_cnn, features_extractor_kwargs: {features_dim: 16}}"
TRAIN = ["--algo", "ppo", "--env", CORRIDOR, "--timesteps", "32", "--n-envs", "2", "--eval-freq", "0",
         "--eval-episodes", "1", "--eval-max-episode-steps", "10", "--run-dir", "r", "--hyperparams", ICM,
         "n_steps=16", "batch_size=16", "n_epochs=1"]


def test_pretrain_then_train_from_the_encoder(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.run(pretrain.main, ["--env", CORRIDOR, "--frames", "64", "--epochs", "2", "--out", "enc/e.pt",
                                    "--backbone", "icm_cnn", "--backbone-kwargs", "features_dim=16",
                                    "--aux", "denoise"]) == 0
    assert "encoder: enc/e.pt" in capsys.readouterr().out
    data = read_encoder("enc/e.pt")
    assert data["backbone"] == "icm_cnn" and data["backbone_kwargs"] == {"features_dim": 16}
    assert data["observation_space"]["shape"] == [3, 12, 12]  # channels first, as the model sees it
    assert not [p for p in Path("enc").iterdir() if p.name != "e.pt"]  # no temporary left
    assert _cli.run(train.main, [*TRAIN, "backbone_init=enc/e.pt", "freeze_backbone=true"]) == 0
    from stable_baselines3 import PPO

    extractor = PPO.load("r/model.zip", device="cpu").policy.features_extractor
    assert all(torch.equal(data["state_dict"][k], v) for k, v in extractor.state_dict().items())


def test_pretrain_from_a_trained_agent_with_the_default_backbone(in_tmp: Path) -> None:
    assert _cli.run(train.main, [*TRAIN]) == 0
    assert _cli.run(pretrain.main, ["--agent", "r", "--frames", "20", "--epochs", "1", "--out", "e.pt"]) == 0
    assert read_encoder("e.pt")["backbone"] == "small_cnn"  # what train chooses for a 12x12 image (default_for)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--env", CORRIDOR, "--frames", "0"], "--frames must be at least 1"),
        (["--env", CORRIDOR, "--frames", "8", "--aux", "recno"], "did you mean 'recon'"),
        (["--env", CORRIDOR, "--frames", "8", "--backbone", "icm_cn"], "did you mean 'icm_cnn'"),
        (["--env", "CartPole-v1", "--frames", "8", "--backbone", "icm_cnn"], "needs an image observation"),
        (["--env", CORRIDOR, "--frames", "8", "--backbone-kwargs", "features_dims=3"],
         "unknown option 'features_dims' of the small_cnn backbone"),  # the keys it takes, as train says
        (["--env", CORRIDOR, "--frames", "8", "--backbone-kwargs", "features_dim=-3"],
         "features_dim must be a positive integer"),
        (["--env", CORRIDOR, "--frames", "8", "--backbone-kwargs", "freeze=true"], "a run's choice"),
        (["--frames", "8"], "no environment given"),
        (["--agent", "nowhere", "--frames", "8"], "no such run directory"),
    ],
)
def test_pretrain_rejects_bad_input_cleanly(in_tmp: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                            message: str) -> None:
    assert _cli.run(pretrain.main, [*argv, "--out", "e.pt"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not list(in_tmp.iterdir())  # no encoder file, no temporary


def _foreign_encoder(path: str) -> None:
    space = spaces.Box(0, 255, (3, 16, 16), np.uint8)
    save_encoder(Path(path), "icm_cnn", {"features_dim": 16}, space, IcmCnn(space, features_dim=16).state_dict())


@pytest.mark.parametrize(
    ("hyper", "message"),
    [
        (["aux=recno"], "did you mean 'recon'"),
        (["aux=recon", "aux_coef=-1"], "aux_coef must be a finite number >= 0"),
        (["aux=denoise", "aux_kwargs={nosie: 0.3}"], "did you mean 'noise'"),
        (["aux=denoise", "aux_kwargs={corruption: blur}"], "corruption must be one of gaussian, mask"),
        (["backbone_init=missing.pt"], "no encoder file missing.pt"),
        (["backbone_init=text.pt"], "text.pt is not an encoder file"),
        (["backbone_init=other.pt"], "[3, 16, 16]"),
        (["freeze_backbone=maybe"], "freeze_backbone must be true or false"),
    ],
)
def test_train_rejects_bad_aux_input_cleanly(in_tmp: Path, capsys: pytest.CaptureFixture[str], hyper: list[str],
                                             message: str) -> None:
    Path("text.pt").write_text("not an encoder")
    _foreign_encoder("other.pt")
    assert _cli.run(train.main, [*TRAIN, *hyper]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not Path("r").exists()


def test_foreign_encoder_error_names_both_shapes(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _foreign_encoder("other.pt")
    assert _cli.run(train.main, [*TRAIN, "backbone_init=other.pt"]) == 2
    err = capsys.readouterr().err
    assert "shape=[3, 16, 16]" in err and "shape=[3, 12, 12]" in err


def test_backbone_init_needs_a_gymsuite_backbone(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _foreign_encoder("other.pt")
    assert _cli.run(train.main, ["--algo", "ppo", "--env", "CartPole-v1", "--run-dir", "r",
                                 "--hyperparams", "backbone_init=other.pt"]) == 2
    err = capsys.readouterr().err
    assert "needs a gymsuite backbone" in err and "FlattenExtractor" in err and "Traceback" not in err
    assert not Path("r").exists()


@pytest.mark.parametrize("algo", ["bc", "gail"])
def test_aux_on_an_imitation_algorithm_names_the_ones_that_can(in_tmp: Path, capsys: pytest.CaptureFixture[str],
                                                               algo: str) -> None:
    assert _cli.run(train.main, ["--algo", algo, "--env", "CartPole-v1", "--run-dir", "r",
                                 "--hyperparams", "aux=recon"]) == 2
    err = capsys.readouterr().err
    assert f"cannot be used with {algo}" in err and "ppo" in err and "dqn" in err and "Traceback" not in err
    assert not Path("r").exists()
