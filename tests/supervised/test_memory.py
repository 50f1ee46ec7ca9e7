"""The window memory backbones: the causal mask, shapes and parameter counts, and bad windows."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces

from gymsuite.common.errors import UserError
from gymsuite.supervised import backbones
from gymsuite.supervised.images import IMAGE_BACKBONES
from gymsuite.supervised.memory import WINDOW_BACKBONES, CausalTransformer, FrameStack, context_of
from gymsuite.supervised.mlp import MlpBackbone

torch.set_num_threads(1)


@pytest.mark.parametrize("gated", [False, True])
def test_the_transformer_is_causal_no_position_sees_a_later_input(gated: bool) -> None:
    torch.manual_seed(0)
    net = CausalTransformer(spaces.Box(-1, 1, (6, 3), np.float32), context=6, layers=2, gated=gated).eval()
    window = torch.randn(4, 6, 3)
    later = window.clone()
    later[:, 4] += 5.0  # step 4 changes: positions 0-3 must not
    with torch.no_grad():
        before, after = net.sequence(window), net.sequence(later)
    assert before.shape == (4, 6, 64)
    assert torch.allclose(before[:, :4], after[:, :4], atol=1e-6)
    assert not torch.allclose(before[:, 4:], after[:, 4:], atol=1e-3)  # the mask is not blocking everything
    assert torch.allclose(net(window), before[:, -1], atol=1e-5)  # features: the last position's output


def test_the_gated_transformer_starts_near_the_identity_of_its_gates() -> None:
    from gymsuite.supervised.memory import GruGate

    gate = GruGate(8)
    x, y = torch.randn(5, 8), torch.randn(5, 8)
    z = torch.sigmoid(gate.w(y).chunk(3, dim=-1)[1] + gate.u(x).chunk(2, dim=-1)[1] - gate.bias)
    assert z.mean() < 0.3  # the bias keeps the update gate mostly shut: output ~ x


def test_vector_windows_have_the_expected_shapes_and_parameter_counts() -> None:
    space = spaces.Box(-1, 1, (4, 3), np.float32)
    stack = FrameStack(space)  # by default the concatenation alone: no weights, the policy's net_arch reads it
    window = torch.arange(24.0).reshape(2, 4, 3)
    assert torch.equal(stack(window), window.reshape(2, 12)) and stack.features_dim == 12
    assert stack.parameter_count == 0
    deep = FrameStack(space, net_arch=[64, 64])
    assert deep(window).shape == (2, 64) and deep.parameter_count == (12 * 64 + 64) + (64 * 64 + 64)
    big = FrameStack(spaces.Box(-1, 1, (8, 3), np.float32), context=8, net_arch=[32])
    assert big.parameter_count == 24 * 32 + 32
    trans = CausalTransformer(spaces.Box(-1, 1, (16, 3), np.float32), d_model=32, heads=2)
    assert trans(torch.zeros(5, 16, 3)).shape == (5, 32)
    plain = CausalTransformer(spaces.Box(-1, 1, (16, 3), np.float32), d_model=32, heads=2).parameter_count
    gated = CausalTransformer(spaces.Box(-1, 1, (16, 3), np.float32), d_model=32, heads=2, gated=True).parameter_count
    assert gated - plain == 2 * (6 * 32 * 32 + 32)  # two gates: 6 D x D matrices and a bias each


@pytest.mark.parametrize("layout", [(4, 7, 7, 3), (4, 3, 7, 7)])
def test_minigrid_image_windows_go_through_a_per_step_image_encoder(layout: tuple[int, ...]) -> None:
    space = spaces.Box(0, 255, layout, np.uint8)  # MiniGrid-MemoryS7-v0's (7, 7, 3) view, history 4
    window = torch.randint(0, 256, (2, *layout)).float()  # SB3 passes a 4-axis uint8 Box unscaled
    stack = FrameStack(space, encoder="small_cnn", net_arch=[64])
    assert stack(window).shape == (2, 64)
    encoder = stack.trunk[0].image
    assert encoder.features_dim == 256 and stack.parameter_count == encoder.parameter_count + (4 * 256 * 64 + 64)
    assert FrameStack(space, encoder="small_cnn")(window).shape == (2, 4 * 256)  # the four frames' features
    trans = CausalTransformer(space, context=4)
    assert trans(window).shape == (2, 64) and trans.sequence(window).shape == (2, 4, 64)
    # the window is scaled by 1/255 before the encoder: a frame of 255s is the encoder's frame of 1.0s
    frames = window[:, 0] / 255.0
    expected = encoder(frames)
    assert torch.allclose(stack.trunk[0](window)[:, 0], expected, atol=1e-5)


def test_the_default_image_encoder_is_the_one_for_a_single_frame() -> None:
    space = spaces.Box(0, 255, (4, 7, 7, 3), np.uint8)
    stack = FrameStack(space)
    assert type(stack.trunk[0].image) is backbones.get(backbones.default_for(spaces.Box(0, 255, (7, 7, 3), np.uint8)))


def test_registered_by_name_with_their_contexts() -> None:
    assert set(WINDOW_BACKBONES) <= set(backbones.BACKBONES) and set(IMAGE_BACKBONES) <= set(backbones.BACKBONES)
    assert context_of("framestack", None) == 4 and context_of("transformer", {}) == 16
    assert context_of("transformer", {"context": 8}) == 8 and context_of("mlp", None) is None
    assert context_of(None, None) is None
    assert "context" in backbones.accepted_kwargs("framestack")


@pytest.mark.parametrize("name", WINDOW_BACKBONES)
def test_bad_windows_are_user_errors(name: str) -> None:
    cls = backbones.get(name)
    with pytest.raises(UserError, match="history and context"):
        cls(spaces.Box(-1, 1, (3, 2), np.float32), context=4)
    with pytest.raises(UserError, match="window"):
        cls(spaces.Box(-1, 1, (4,), np.float32), context=4)
    with pytest.raises(UserError, match="context"):
        cls(spaces.Box(-1, 1, (4, 2), np.float32), context=0)
    with pytest.raises(UserError, match="augment"):
        cls(spaces.Box(0, 255, (4, 7, 7, 3), np.uint8), context=4, augment="shift")
    with pytest.raises(UserError, match="encoder"):
        cls(spaces.Box(0, 255, (4, 7, 7, 3), np.uint8), context=4, encoder="framestack")
    with pytest.raises(UserError, match="encoder"):
        cls(spaces.Box(-1, 1, (4, 2), np.float32), context=4, encoder="small_cnn")
    with pytest.raises(UserError, match="smal_cnn") as err:  # a misspelt step encoder: the image backbone meant
        cls(spaces.Box(0, 255, (4, 7, 7, 3), np.uint8), context=4, encoder="smal_cnn")
    assert "'small_cnn'" in err.value.hint


def test_a_window_backbone_is_not_curiositys_encoder() -> None:
    with pytest.raises(UserError, match="framestack"):
        backbones.make_encoder(spaces.Box(-1, 1, (4, 2), np.float32), 8, 8, backbone="framestack")


def test_freeze_keeps_the_weights() -> None:
    stack = FrameStack(spaces.Box(-1, 1, (4, 2), np.float32), freeze=True)
    assert not any(p.requires_grad for p in stack.parameters())
    assert isinstance(backbones.get("mlp")(spaces.Box(-1, 1, (2,), np.float32)), MlpBackbone)


def test_the_transformer_refuses_a_width_its_heads_cannot_split() -> None:
    with pytest.raises(UserError, match="divisible"):
        CausalTransformer(spaces.Box(-1, 1, (4, 2), np.float32), context=4, d_model=30, heads=4)
    with pytest.raises(UserError, match="gated"):
        CausalTransformer(spaces.Box(-1, 1, (4, 2), np.float32), context=4, gated="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize("gated", [False, True])
def test_the_features_are_the_last_position_of_the_sequence_in_deeper_transformers(gated: bool) -> None:
    # forward computes only the last row in the last block: it must equal sequence()'s last position
    net = CausalTransformer(spaces.Box(-1, 1, (8, 3), np.float32), context=8, d_model=32, heads=2, layers=3,
                            gated=gated)
    window = torch.randn(6, 8, 3)
    with torch.no_grad():
        assert torch.allclose(net(window), net.sequence(window)[:, -1], atol=1e-5)
