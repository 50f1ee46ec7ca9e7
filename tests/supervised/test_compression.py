"""Network-level compression: magnitude masks, neuron removal, int8 rounding, the distillation loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from torch import nn

from gymsuite.supervised import compression as cx


def _chain(widths: list[int], seed: int = 0) -> list[nn.Linear]:
    th.manual_seed(seed)
    return [nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)]


def _forward(layers: list[nn.Linear], x: th.Tensor, act: nn.Module) -> th.Tensor:
    for layer in layers[:-1]:
        x = act(layer(x))
    return layers[-1](x)


def test_magnitude_masks_prune_exactly_the_smallest_weights_globally() -> None:
    big = th.tensor([[5.0, -4.0], [3.0, 0.5]])
    small = th.tensor([0.1, -0.2, 6.0, 0.3])
    masks = cx.magnitude_masks({"a": big, "b": small}, 0.5, per_layer_scale=False)
    assert masks["a"].tolist() == [[True, True], [True, False]]  # the threshold is shared: a keeps 3 of 4
    assert masks["b"].tolist() == [False, False, True, False]
    assert sum(int(m.sum()) for m in masks.values()) == 4


def test_a_layer_on_a_smaller_scale_is_not_stripped_first() -> None:
    th.manual_seed(0)
    hidden, head = th.randn(64, 64), 0.01 * th.randn(4, 64)  # SB3's action head: gain 0.01
    raw = cx.magnitude_masks({"hidden": hidden, "head": head}, 0.5, per_layer_scale=False)
    assert int(raw["head"].sum()) == 64  # raw magnitudes: the head keeps its floor alone (half its share of 128)
    scaled = cx.magnitude_masks({"hidden": hidden, "head": head}, 0.5)
    assert 0.3 < float(scaled["head"].float().mean()) < 0.7  # scale-free: about the global share in each layer
    assert int(scaled["hidden"].sum()) + int(scaled["head"].sum()) == (64 * 64 + 4 * 64) // 2


def test_no_layer_is_stripped_whole_whose_weights_are_all_alike() -> None:
    """Heavy-tailed hidden weights score far above 1 over their RMS, a head of equal weights exactly 1: at 95% the
    global threshold passes 1, and without its floor the head would lose every weight."""
    th.manual_seed(0)
    hidden, head = th.randn(64, 64) ** 3, th.full((2, 64), 0.1)
    masks = cx.magnitude_masks({"hidden": hidden, "head": head}, 0.95)
    assert int(masks["head"].sum()) == int(0.05 * 128 / 2) == 3  # its floor: half its share
    assert int(masks["hidden"].sum()) + 3 == 64 * 64 + 128 - round(0.95 * (64 * 64 + 128))  # the count exact


def test_the_scale_of_a_pruned_tensor_is_that_of_its_surviving_weights() -> None:
    """Gradual pruning re-scores tensors that hold zeros: 100 equal survivors of 1,000 score 1 over their own RMS
    (over the zeros, sqrt(10)), so the small layer's weights above its RMS keep their places."""
    big, small = th.zeros(1000), th.linspace(0.5, 1.5, 100)
    big[:100] = 1.0  # as after an earlier step
    masks = cx.magnitude_masks({"big": big, "small": small}, 0.9)  # 110 kept: floors of 50 and 5, then 55 more
    assert int(masks["small"].sum()) > 40  # an RMS over the zeros would keep its 5 + 5 best alone
    assert int(masks["big"].sum()) + int(masks["small"].sum()) == 110


def test_apply_masks_zeroes_the_weights_and_counts_them() -> None:
    net = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 2))
    weights = cx.prunable_weights(net)
    assert list(weights) == ["0.weight", "2.weight"]
    masks = cx.magnitude_masks(weights, 0.9)
    cx.apply_masks(net, masks)
    nonzero, total = cx.count_parameters(weights.values())
    assert total == 8 * 16 + 16 * 2 and nonzero == total - round(0.9 * total)
    for name, mask in masks.items():
        assert (dict(net.named_parameters())[name][~mask] == 0).all()


@pytest.mark.parametrize("act", [nn.Tanh(), nn.Sigmoid()])  # sigmoid(0) != 0: the next layer's columns must go
def test_sliced_chain_computes_what_the_masked_big_chain_does(act: nn.Module) -> None:
    big, small = _chain([5, 12, 10, 3]), _chain([5, 4, 6, 3], seed=1)
    kept = [cx.keep_top(cx.neuron_scores(layer), f) for layer, f in zip(big[:-1], (0.67, 0.4), strict=True)]
    assert [len(k) for k in kept] == [4, 6]
    cx.slice_chain(big, small, kept)
    masks = cx.chain_masks(big, kept, [f"{i}.weight" for i in range(3)])
    masked = nn.ModuleList(_chain([5, 12, 10, 3]))
    masked.load_state_dict(nn.ModuleList(big).state_dict())
    cx.apply_masks(masked, masks)
    x = th.randn(32, 5)
    assert th.allclose(_forward(small, x, act), _forward(list(masked), x, act), atol=1e-6)  # type: ignore[arg-type]
    assert sum(p.numel() for layer in small for p in layer.parameters()) < \
        sum(p.numel() for layer in big for p in layer.parameters())


def test_int8_rounding_matches_pytorch_dynamic_quantisation() -> None:
    th.manual_seed(0)
    net = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4))
    quantised = cx.quantize_dynamic(net)
    assert cx.fake_quantize_int8(net) == 2
    for layer, q in ((net[0], quantised[0]), (net[2], quantised[2])):
        assert len(th.unique(layer.weight)) <= 256  # one int8 grid per tensor
        assert th.allclose(layer.weight, q.weight().dequantize(), atol=1e-7)  # the very weights int8 stores
    x = th.randn(256, 16)
    with th.no_grad():
        float_out, int8_out = net(x), quantised(x)
    # the rest is the activations' dynamic quantisation: a few percent of the output's scale
    assert (float_out - int8_out).abs().max() < 0.05 * float_out.abs().max()
    assert cx.state_bytes(quantised) < cx.state_bytes(net)


def test_distillation_loss_is_the_kl_to_the_ensembles_average() -> None:
    logits = th.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    assert float(cx.distillation_loss(logits, [logits], 1.0)) == pytest.approx(0.0, abs=1e-6)
    a, b = th.tensor([[4.0, 0.0, 0.0]]), th.tensor([[0.0, 4.0, 0.0]])
    p = (th.softmax(a, -1) + th.softmax(b, -1)) / 2
    student = th.log(p)
    assert float(cx.distillation_loss(student, [a, b], 1.0)) == pytest.approx(0.0, abs=1e-6)
    sharp = th.softmax(a / 0.1, -1)
    expected = float((sharp * (sharp.clamp_min(1e-12).log() - th.log_softmax(logits[:1], -1))).sum())
    assert float(cx.distillation_loss(logits[:1], [a], 0.1)) == pytest.approx(expected, rel=1e-5)
    assert np.isfinite(float(cx.distillation_loss(th.zeros(1, 3), [th.tensor([[1e4, 0.0, 0.0]])], 0.01)))
