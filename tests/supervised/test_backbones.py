"""Backbones: the MLP builder's layout, shapes, measured widths, parameter counts, input checks, SB3 round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.preprocessing import preprocess_obs
from stable_baselines3.common.torch_layers import create_mlp
from stable_baselines3.common.vec_env import DummyVecEnv
from torch import nn

from gymsuite.common.errors import UserError
from gymsuite.supervised import backbones
from gymsuite.supervised.backbone import Backbone
from gymsuite.supervised.cnn import IcmCnn, ImageEncoder
from gymsuite.supervised.mlp import MlpBackbone, mlp
from gymsuite.supervised.normalization import ObsNormalizer
from gymsuite.supervised.trunk import SharedTrunk
from tests.toy_envs import Corridor

torch.set_num_threads(1)
VECTOR = spaces.Box(-1.0, 1.0, (4,), np.float32)
IMAGE_HWC = spaces.Box(0, 255, (12, 16, 3), np.uint8)
IMAGE_CHW = spaces.Box(0, 255, (3, 12, 16), np.uint8)



def features(backbone: Backbone, space: spaces.Space, obs: np.ndarray) -> torch.Tensor:
    """``(B, *O)`` raw observations of ``space`` -> ``(B, F)``, preprocessed as SB3's policies do."""
    with torch.no_grad():
        return backbone(preprocess_obs(torch.as_tensor(obs), space))


# ------------------------------------------------------------ the MLP builder
def test_mlp_lays_out_layers_as_sb3_create_mlp() -> None:
    torch.manual_seed(0)
    ours = mlp([5, 32, 16], nn.Tanh, activate_last=True)
    torch.manual_seed(0)
    sb3 = nn.Sequential(*create_mlp(5, -1, [32, 16], nn.Tanh))
    assert [type(m) for m in ours] == [type(m) for m in sb3] == [nn.Linear, nn.Tanh, nn.Linear, nn.Tanh]
    sb3_state = sb3.state_dict()
    assert all(torch.equal(v, sb3_state[k]) for k, v in ours.state_dict().items())


def test_mlp_without_last_activation_ends_linear() -> None:
    net = mlp([3, 8, 8, 2])
    assert [type(m) for m in net] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert net(torch.zeros(7, 3)).shape == (7, 2)


# ------------------------------------------------------------ shapes and widths
@pytest.mark.parametrize("space, width", [
    (VECTOR, 4), (spaces.Box(-1.0, 1.0, (2, 3), np.float32), 6), (spaces.Discrete(5), 5),
    (spaces.MultiDiscrete([2, 3]), 5), (IMAGE_HWC, 12 * 16 * 3),
])
def test_mlp_backbone_flattens_any_array_space(space: spaces.Space, width: int) -> None:
    backbone = MlpBackbone(space, net_arch=[32, 7])
    assert backbone.trunk[1].in_features == width
    obs = np.stack([space.sample() for _ in range(5)])
    assert backbone.features_dim == 7
    assert features(backbone, space, obs).shape == (5, 7)


@pytest.mark.parametrize("space", [IMAGE_HWC, IMAGE_CHW])
def test_icm_cnn_takes_uint8_images_channels_first_or_last(space: spaces.Box) -> None:
    backbone = IcmCnn(space, features_dim=24)
    obs = np.stack([space.sample() for _ in range(5)])
    assert backbone.features_dim == 24
    assert features(backbone, space, obs).shape == (5, 24)


def test_channel_order_does_not_change_the_features() -> None:
    first = IcmCnn(IMAGE_CHW, features_dim=8)
    last = IcmCnn(IMAGE_HWC, features_dim=8)
    last.load_state_dict(first.state_dict())
    chw = np.stack([IMAGE_CHW.sample() for _ in range(3)])
    hwc = chw.transpose(0, 2, 3, 1)
    torch.testing.assert_close(features(first, IMAGE_CHW, chw), features(last, IMAGE_HWC, hwc))


def test_width_is_measured_by_one_dry_pass() -> None:
    # No width is declared anywhere: the backbone runs an all-zero observation through its trunk.
    trunk = nn.Sequential(nn.Flatten(), nn.Linear(4, 13), nn.ReLU(), nn.Linear(13, 9))
    assert Backbone(VECTOR, trunk).features_dim == 9
    image = Backbone(IMAGE_HWC, nn.Sequential(nn.Conv2d(3, 5, 3), nn.Flatten()), channels_last=True)
    assert image.features_dim == 5 * 10 * 14


@pytest.mark.parametrize("backbone", [MlpBackbone(VECTOR, net_arch=[32, 16]), IcmCnn(IMAGE_CHW, features_dim=10)])
def test_parameter_count_is_the_number_of_weights(backbone: Backbone) -> None:
    assert backbone.parameter_count == sum(p.numel() for p in backbone.parameters()) > 0
    assert f"parameters={backbone.parameter_count:,}" in repr(backbone)


def test_mlp_parameter_count_by_hand() -> None:
    assert MlpBackbone(VECTOR, net_arch=[32, 16]).parameter_count == (4 * 32 + 32) + (32 * 16 + 16)


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize("name, space, kwargs", [
    ("icm_cnn", VECTOR, {}),                                                      # a vector
    ("icm_cnn", spaces.Box(0.0, 1.0, (3, 12, 12), np.float32), {}),              # float pixels
    ("icm_cnn", spaces.Box(0, 9, (3, 12, 12), np.uint8), {}),                     # not 0-255
    ("icm_cnn", spaces.Box(0, 255, (12, 3, 12), np.uint8), {}),                   # channel axis unclear
    ("icm_cnn", IMAGE_CHW, {"features_dim": 0}),
    ("mlp", spaces.Dict({"a": VECTOR}), {}),
    ("mlp", VECTOR, {"net_arch": []}),
    ("mlp", VECTOR, {"net_arch": [64, 0]}),
])
def test_a_space_the_backbone_cannot_take_is_a_user_error(name: str, space: spaces.Space, kwargs: dict) -> None:
    with pytest.raises(UserError) as err:
        backbones.get(name)(space, **kwargs)
    assert err.value.hint


def test_registry_names_and_the_closest_one() -> None:
    assert backbones.get("mlp") is MlpBackbone and backbones.get("icm_cnn") is IcmCnn
    assert SharedTrunk is MlpBackbone
    with pytest.raises(UserError) as err:
        backbones.get("icm_cn")
    assert "'icm_cnn'" in str(err.value.hint)


# ------------------------------------------------------------ curiosity builds from the same modules
def test_curiosity_encoders_are_the_backbones_networks() -> None:
    torch.manual_seed(0)
    encoder = backbones.make_encoder(IMAGE_HWC, features=16, hidden=32)
    torch.manual_seed(0)
    backbone = IcmCnn(IMAGE_HWC, features_dim=16)
    assert isinstance(encoder, ImageEncoder) and isinstance(backbone.trunk, ImageEncoder)
    obs = np.stack([IMAGE_HWC.sample() for _ in range(4)])
    with torch.no_grad():
        torch.testing.assert_close(encoder(ObsNormalizer(IMAGE_HWC)(obs)), features(backbone, IMAGE_HWC, obs))
    vector = backbones.make_encoder(VECTOR, features=16, hidden=32)
    assert [type(m) for m in vector] == [nn.Linear, nn.ReLU, nn.Linear]


# ------------------------------------------------------------ inside SB3
def round_trip(model: PPO, path: Path, obs: np.ndarray) -> PPO:
    model.save(path)
    loaded = PPO.load(path, device="cpu")
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])
    return loaded


def test_mlp_backbone_in_ppo_saves_and_loads_with_plain_sb3(tmp_path: Path) -> None:
    kwargs = {"features_extractor_class": MlpBackbone, "features_extractor_kwargs": {"net_arch": [16]},
              "net_arch": []}
    model = PPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=2, seed=0), policy_kwargs=kwargs, n_steps=16,
                batch_size=16, n_epochs=1, seed=0, device="cpu").learn(32)
    assert model.policy.action_net.in_features == 16
    loaded = round_trip(model, tmp_path / "model.zip", np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32))
    assert isinstance(loaded.policy.features_extractor, MlpBackbone)


def test_icm_cnn_in_ppo_on_channels_last_images(tmp_path: Path) -> None:
    kwargs = {"features_extractor_class": IcmCnn, "features_extractor_kwargs": {"features_dim": 32},
              "net_arch": [16]}
    model = PPO("CnnPolicy", DummyVecEnv([Corridor, Corridor]), policy_kwargs=kwargs, n_steps=16, batch_size=16,
                n_epochs=1, seed=0, device="cpu").learn(32)
    extractor = model.policy.features_extractor
    assert isinstance(extractor, IcmCnn) and not extractor.channels_last  # SB3 transposed the env to (C, H, W)
    obs = np.stack([Corridor.observation_space.sample() for _ in range(6)]).transpose(0, 3, 1, 2)
    round_trip(model, tmp_path / "model.zip", obs)


def test_frozen_backbone_does_not_train_and_stays_frozen_after_loading(tmp_path: Path) -> None:
    kwargs = {"features_extractor_class": IcmCnn, "features_extractor_kwargs": {"features_dim": 16, "freeze": True},
              "net_arch": [], "ortho_init": False}
    model = PPO("CnnPolicy", DummyVecEnv([Corridor]), policy_kwargs=kwargs, n_steps=32, batch_size=16, seed=0,
                device="cpu")
    frozen = {k: v.clone() for k, v in model.policy.features_extractor.state_dict().items()}
    head = model.policy.action_net.weight.detach().clone()
    model.learn(32)
    assert all(torch.equal(v, frozen[k]) for k, v in model.policy.features_extractor.state_dict().items())
    assert not torch.equal(head, model.policy.action_net.weight)
    model.save(tmp_path / "model.zip")
    loaded = PPO.load(tmp_path / "model.zip", device="cpu")
    assert not any(p.requires_grad for p in loaded.policy.features_extractor.parameters())
