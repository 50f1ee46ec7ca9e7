"""The image backbones by name: shapes, gradients, parameter counts, bad input, DrQ's shift, the default choice."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces

from gymsuite.common.errors import UserError
from gymsuite.supervised import backbones
from gymsuite.supervised.attention import default_patch_size
from gymsuite.supervised.backbone import Backbone, random_shift, shift_padding
from gymsuite.supervised.cnns import small_cnn_strides

IMAGE_BACKBONES = ["nature_cnn", "small_cnn", "impala_cnn", "attention"]


def image(*shape: int) -> spaces.Box:
    return spaces.Box(0, 255, shape, np.uint8)


@pytest.mark.parametrize("name", IMAGE_BACKBONES)
@pytest.mark.parametrize("shape", [(3, 56, 56), (40, 40, 4), (3, 7, 7), (84, 84, 1)])
def test_output_shape_and_gradient_reaches_the_first_layer(name: str, shape: tuple[int, ...]) -> None:
    space = image(*shape)
    if name == "nature_cnn" and 7 in shape:
        pytest.skip("nature_cnn refuses images below 36x36 (tested below)")
    torch.manual_seed(0)
    net = backbones.get(name)(space, features_dim=24)
    obs = torch.rand(5, *shape)
    out = net(obs)
    assert out.shape == (5, 24) and net.features_dim == 24
    out.square().sum().backward()
    first = next(p for p in net.parameters() if p.dim() == 4)  # the first conv / patch embedding
    assert first.grad is not None and first.grad.abs().sum() > 0


def test_parameter_counts_match_the_layer_arithmetic() -> None:
    nature = backbones.get("nature_cnn")(image(4, 84, 84))
    convs = (4 * 8 * 8 + 1) * 32 + (32 * 4 * 4 + 1) * 64 + (64 * 3 * 3 + 1) * 64
    assert nature.parameter_count == convs + (64 * 7 * 7 + 1) * 512  # SB3's NatureCNN on Atari: 1,684,128
    # small_cnn on 56x56: patchify stem 4x4/4 (16 ch) to 14x14, 3x3/2 (32 ch) to 7x7, linear to 256.
    small = backbones.get("small_cnn")(image(56, 56, 3))
    assert small.parameter_count == (3 * 16 + 1) * 16 + (16 * 9 + 1) * 32 + (32 * 7 * 7 + 1) * 256
    # pixel CartPole's 48x72 frames (2 stacked): a 4x4/4 stem to 12x18, 3x3/2 to a 6x9 map (last_size 9: with 7
    # an 8x8/8 stem ended on 3x5, too coarse to place the pole); Atari's 84x84 ends on 6x6 with either
    cartpole = backbones.get("small_cnn")(image(48, 72, 2))
    assert cartpole.parameter_count == (2 * 16 + 1) * 16 + (16 * 9 + 1) * 32 + (32 * 6 * 9 + 1) * 256
    atari = backbones.get("small_cnn")(image(4, 84, 84))
    assert atari.parameter_count == backbones.get("small_cnn")(image(4, 84, 84), last_size=7).parameter_count
    impala = backbones.get("impala_cnn")(image(3, 8, 8), channels=[4])
    assert impala.parameter_count == (3 * 9 + 1) * 4 + 4 * (4 * 9 + 1) * 4 + (4 * 4 * 4 + 1) * 256
    assert backbones.get("attention")(image(7, 7, 3)).parameter_count < 20_000  # small by default


def test_strides_and_patches_follow_the_image_size() -> None:
    assert [small_cnn_strides(s, s, 7) for s in (7, 12, 40, 56, 84)] == [0, 1, 3, 3, 4]
    assert [small_cnn_strides(s, s, 9) for s in (7, 12, 40, 56, 64, 72, 84)] == [0, 1, 3, 3, 3, 3, 4]
    assert [default_patch_size(s, s) for s in (7, 16, 56, 84)] == [1, 1, 7, 11]
    assert backbones.get("attention")(image(7, 7, 3)).patch_size == 1  # a token per grid cell
    assert backbones.get("attention")(image(3, 84, 84), patch_size=12).patch_size == 12


@pytest.mark.parametrize(("name", "space", "fix_names"), [
    ("small_cnn", spaces.Box(-1, 1, (4,), np.float32), "mlp"),
    ("nature_cnn", image(8, 8, 3), "small_cnn"),
    ("impala_cnn", image(12, 2, 12), "(H, W, C)"),
    ("attention", spaces.Box(0, 1, (7, 7, 3), np.float32), "uint8"),
    ("attention", image(7, 7, 3), "patch_size"),
])
def test_an_observation_the_backbone_cannot_take_is_a_user_error(name: str, space: spaces.Space,
                                                                  fix_names: str) -> None:
    kwargs = {"patch_size": 9} if fix_names == "patch_size" else {}
    with pytest.raises(UserError) as err:
        backbones.get(name)(space, **kwargs)
    assert fix_names in str(err.value)


def test_unknown_names_and_options_are_refused_with_what_exists() -> None:
    with pytest.raises(UserError, match="small_cnn"):
        backbones.get("smal_cnn")
    with pytest.raises(UserError, match="features_dim"):
        backbones.check_kwargs("small_cnn", {"feature_dim": 3})
    backbones.check_kwargs("attention", {"depth": 2, "heads": 4, "augment": "shift"})
    with pytest.raises(UserError, match="positive integer"):
        backbones.get("small_cnn")(image(7, 7, 3), features_dim=0)
    with pytest.raises(UserError, match="heads"):
        backbones.get("attention")(image(7, 7, 3), embed_dim=30, heads=4)


def test_default_backbone_by_observation() -> None:
    assert backbones.default_for(image(84, 84, 3)) == "nature_cnn"
    assert backbones.default_for(image(3, 36, 36)) == "nature_cnn"
    assert backbones.default_for(image(7, 7, 3)) == "small_cnn"
    assert backbones.default_for(spaces.Box(-1, 1, (4,), np.float32)) == "mlp"
    assert backbones.default_for(spaces.Discrete(3)) == "mlp"


def test_random_shift_moves_each_sample_within_the_padding() -> None:
    torch.manual_seed(0)
    x = torch.rand(64, 2, 84, 84)
    shifted = random_shift(x)
    assert shifted.shape == x.shape and shift_padding(84, 84) == 4 and shift_padding(7, 7) == 1
    assert not torch.equal(shifted, x)
    # Each sample is its padded copy cropped at some offset (dy, dx) in [0, 8]^2: find it.
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4), mode="replicate")
    offsets = set()
    for i in range(len(x)):
        found = [(dy, dx) for dy in range(9) for dx in range(9)
                 if torch.equal(padded[i, :, dy:dy + 84, dx:dx + 84], shifted[i])]
        assert found
        offsets.add(found[0])
    assert len(offsets) > 10  # per-sample offsets, not one for the batch


def test_augment_shifts_only_in_training_mode() -> None:
    net = backbones.get("small_cnn")(image(3, 40, 40), augment="shift")
    obs = torch.rand(8, 3, 40, 40)
    net.eval()
    assert torch.equal(net(obs), net.trunk(obs))  # SB3 collects rollouts and predicts in eval mode: no shift
    net.train()
    torch.manual_seed(1)
    assert not torch.allclose(net(obs), net(obs))
    with pytest.raises(UserError, match="shift"):
        backbones.get("small_cnn")(image(3, 40, 40), augment="shfit")
    with pytest.raises(UserError, match="vector"):
        Backbone(spaces.Box(-1, 1, (4,), np.float32), torch.nn.Flatten(), augment="shift")


def test_curiosity_encoder_by_name_takes_channels_first_images() -> None:
    enc = backbones.make_encoder(image(12, 12, 3), 16, 32, backbone="small_cnn")
    assert enc(torch.rand(4, 3, 12, 12)).shape == (4, 16)
    default = backbones.make_encoder(image(12, 12, 3), 16, 32)
    assert set(default.state_dict()) == {"convs.0.weight", "convs.0.bias", "convs.2.weight", "convs.2.bias",
                                         "convs.4.weight", "convs.4.bias", "convs.6.weight", "convs.6.bias",
                                         "head.weight", "head.bias"}  # the keys of saved curiosity checkpoints
    with pytest.raises(UserError, match="image"):
        backbones.make_encoder(spaces.Box(-1, 1, (4,), np.float32), 16, 32, backbone="small_cnn")
