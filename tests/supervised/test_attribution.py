"""Network-level attribution: a net that reads one feature gets it ranked first by every method, the randomisation
test flags a map that ignores the weights, the deletion score of the true map beats random inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from torch import nn

from gymsuite.supervised import attribution as attr
from gymsuite.supervised.attention import PatchAttention

GRADIENT_FREE = ["occlusion", "perturb"]
METHODS = ["grad", "smoothgrad", "ig", *GRADIENT_FREE]


class OneFeature(nn.Module):
    """Two actions whose logits are +-(3 x_2 + 1): reads feature 2 of 4 and nothing else."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(1, 2)
        with th.no_grad():
            self.head.weight.copy_(th.tensor([[3.0], [-3.0]]))
            self.head.bias.copy_(th.tensor([1.0, -1.0]))

    def forward(self, x: th.Tensor) -> th.Tensor:
        return self.head(x[:, 2:3])


def chosen_log_prob(net: nn.Module):
    """forward(x, actions) -> (B,): the log-probability of each sample's action."""
    return lambda x, actions: th.log_softmax(net(x), dim=-1).gather(1, actions[:, None]).squeeze(1)


def greedy(net: nn.Module, x: th.Tensor) -> th.Tensor:
    with th.no_grad():
        return net(x).argmax(dim=1)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("baseline", ["data", "zero"])
def test_every_method_ranks_the_only_feature_read_first(method: str, baseline: str) -> None:
    th.manual_seed(0)
    net = OneFeature()
    x = th.randn(64, 4) * th.tensor([1.0, 2.0, 0.5, 3.0]) + 0.3
    base = x.mean(dim=0) if baseline == "data" else th.zeros(4)
    maps = attr.saliency(attr.attribute(chosen_log_prob(net), x, method, baseline=base, args=(greedy(net, x),)))
    assert maps.shape == (64, 4)
    mean = maps.mean(axis=0)
    assert mean.argmax() == 2 and mean[2] > 0
    assert np.allclose(mean[[0, 1, 3]], 0)  # the net does not read them: no method may credit them


def test_integrated_gradients_add_up_to_the_change_from_the_baseline() -> None:
    """Completeness (Sundararajan et al.): the attributions sum to f(x) - f(baseline)."""
    th.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))
    x, actions = th.randn(8, 4), th.zeros(8, dtype=th.long)
    forward = chosen_log_prob(net)
    a = attr.attribute(forward, x, "ig", baseline=th.zeros(4), args=(actions,))
    expected = forward(x, actions) - forward(th.zeros_like(x), actions)
    assert th.allclose(a.sum(dim=1), expected.detach(), atol=1e-3)


@pytest.fixture(scope="module")
def trained() -> tuple[nn.Module, th.Tensor]:
    """An MLP trained to choose action 1 when 2 x_0 - x_3 > 0, and 512 inputs."""
    th.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 2))
    x = th.randn(512, 4)
    labels = (2 * x[:, 0] - x[:, 3] > 0).long()
    optimiser = th.optim.Adam(net.parameters(), lr=0.02)
    for _ in range(300):
        optimiser.zero_grad()
        nn.functional.cross_entropy(net(x), labels).backward()
        optimiser.step()
    assert (net(x).argmax(1) == labels).float().mean() > 0.95
    return net, x


def test_sanity_check_passes_gradients_of_a_trained_net_and_flags_an_input_only_map(
        trained: tuple[nn.Module, th.Tensor]) -> None:
    net, x = trained
    x = x[:128]
    actions = greedy(net, x)

    def gradients(network: nn.Module, inputs: th.Tensor) -> th.Tensor:
        return attr.attribute(chosen_log_prob(network), inputs, "grad", args=(actions,))

    def edges(network: nn.Module, inputs: th.Tensor) -> th.Tensor:  # an edge detector: the input alone
        return inputs - inputs.roll(1, dims=1)

    good = attr.sanity_check(gradients, net, x, ["2"])
    assert good.trustworthy and good.output_layer < 0.5 and good.full < good.threshold
    bad = attr.sanity_check(edges, net, x, ["2"])
    assert not bad.trustworthy and bad.output_layer == bad.full == 1.0
    assert th.equal(net[2].weight, trained[0][2].weight)  # the network itself was not touched


def test_randomize_redraws_only_the_named_layers_and_keeps_the_global_random_state() -> None:
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    state = th.random.get_rng_state()
    top = attr.randomize(net, ["2"], seed=1)
    assert th.equal(th.random.get_rng_state(), state)
    assert th.equal(top[0].weight, net[0].weight) and not th.equal(top[2].weight, net[2].weight)
    full = attr.randomize(net, None, seed=1)
    assert not th.equal(full[0].weight, net[0].weight)


def test_randomize_never_redraws_the_networks_own_initial_weights() -> None:
    """A network of PyTorch's default initialisation under seed 0 (an untrained DQN) and a redraw with seed 0."""
    th.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    full = attr.randomize(net, None, seed=0)
    assert not th.equal(full[0].weight, net[0].weight) and not th.equal(full[2].weight, net[2].weight)


def test_deletion_of_the_true_map_beats_random_inputs(trained: tuple[nn.Module, th.Tensor]) -> None:
    net, x = trained
    actions = greedy(net, x)
    forward = chosen_log_prob(net)
    maps = attr.saliency(attr.attribute(forward, x, "grad", args=(actions,)))

    def prob(inputs: th.Tensor, acts: th.Tensor) -> th.Tensor:
        return forward(inputs, acts).exp()

    score = attr.deletion_score(prob, x, maps, th.zeros(4), 0.25, args=(actions,))
    assert score.k == 1 and score.beats_random and score.top_drop > 2 * score.random_drop
    reverse = attr.deletion_score(prob, x, -maps, th.zeros(4), 0.25, args=(actions,))
    assert reverse.top_drop < score.top_drop  # the least salient input matters least


def region_net() -> nn.Module:
    """A scalar of the top-left 12 x 12 pixels of a (1, 36, 36) image, squared so that blurring changes it."""

    class Region(nn.Module):
        def forward(self, x: th.Tensor) -> th.Tensor:
            return (x[:, 0, :12, :12] ** 2).mean(dim=(1, 2))

    return Region()


@pytest.mark.parametrize("method", METHODS)
def test_image_maps_fall_on_the_region_the_net_reads(method: str) -> None:
    th.manual_seed(0)
    x = th.rand(3, 1, 36, 36)
    a = attr.attribute(lambda inputs: region_net()(inputs), x, method, baseline=th.zeros(1, 36, 36))
    maps = attr.saliency(a).reshape(3, 36, 36)
    assert a.shape == x.shape and maps.shape == (3, 36, 36)
    inside = maps[:, :14, :14].sum()  # the perturbation's patches and windows blur the edge by a pixel or two
    assert inside > 0.8 * maps.sum()


def test_perturbation_in_batches_matches_one_patch_at_a_time() -> None:
    th.manual_seed(0)
    x = th.rand(2, 1, 36, 36)
    net = region_net()
    whole = attr.perturb(lambda v: net(v), x, th.zeros_like(x), batch=10_000)
    small = attr.perturb(lambda v: net(v), x, th.zeros_like(x), batch=7)
    assert th.allclose(whole, small)


def test_attention_map_spreads_the_pooled_tokens_attention_over_its_patches() -> None:
    th.manual_seed(0)
    backbone = PatchAttention(spaces.Box(0, 255, (3, 20, 20), np.uint8), patch_size=4, depth=2)
    x = th.rand(2, 3, 20, 20)
    a = attr.attention_map(backbone, x)
    assert a.shape == x.shape and (a >= 0).all()
    per_patch = a.sum(dim=1)[:, ::4, ::4] * 16  # each patch's 4 x 4 pixels share its weight equally
    assert th.allclose(per_patch.sum(dim=(1, 2)), a.sum(dim=(1, 2, 3)))
    assert float(a.sum(dim=(1, 2, 3)).max()) <= 1 + 1e-5  # a share of the pooled token's attention


def test_rank_correlation_of_constant_and_equal_maps() -> None:
    a = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    assert attr.rank_correlation(a, a) == pytest.approx(1.0)
    assert attr.rank_correlation(a, a[:, ::-1]) == pytest.approx(0.0)  # -1 for the first row, 1 for two zero rows
    assert attr.rank_correlation(a[:1], np.zeros((1, 3))) == 0.0


def test_positions_zero_in_both_maps_do_not_make_them_alike() -> None:
    """A shared empty background (zero in both) ties the maps' ranks; only the rest is compared."""
    background = np.zeros(1000)
    a = np.concatenate([background, [1.0, 2.0, 3.0, 4.0]])[None]
    b = np.concatenate([background, [4.0, 3.0, 2.0, 1.0]])[None]
    assert attr.rank_correlation(a, b) == pytest.approx(-1.0)
