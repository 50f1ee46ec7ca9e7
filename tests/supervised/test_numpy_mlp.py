"""The numpy twin of a torch MLP: equal outputs, following weight updates, refusing other layers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stable_baselines3.common.running_mean_std import RunningMeanStd
from torch import nn

from gymsuite.supervised.mlp import mlp
from gymsuite.supervised.normalization import update_rms
from gymsuite.supervised.numpy_mlp import numpy_mlp


@pytest.mark.parametrize("activation", [nn.ReLU, nn.Tanh])
def test_twin_matches_torch_and_follows_every_update(activation: type[nn.Module]) -> None:
    torch.manual_seed(0)
    net = nn.Sequential(mlp([3, 16, 8], activation, activate_last=True), nn.Identity(), nn.Linear(8, 2))
    twin = numpy_mlp(net)
    assert twin is not None
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(twin(x), net(torch.as_tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    before = twin(x)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    net(torch.as_tensor(x)).pow(2).sum().backward()
    optimizer.step()  # in place: the twin must not answer with the old weights
    assert not np.allclose(twin(x), before)
    np.testing.assert_allclose(twin(x), net(torch.as_tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    net.load_state_dict({k: torch.zeros_like(v) for k, v in net.state_dict().items()})
    np.testing.assert_array_equal(twin(x), np.zeros((5, 2), np.float32))


def test_other_layers_keep_torch() -> None:
    assert numpy_mlp(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())) is None
    assert numpy_mlp(nn.Sequential(nn.Linear(2, 2), nn.Dropout())) is None
    assert numpy_mlp(nn.LSTM(2, 2)) is None


def test_update_rms_gives_sb3s_moments() -> None:
    batches = np.random.default_rng(1).normal(3.0, 2.0, size=(20, 8, 4))
    ours, sb3 = RunningMeanStd(shape=(4,)), RunningMeanStd(shape=(4,))
    for batch in batches:
        update_rms(ours, batch)
        sb3.update(batch)
    np.testing.assert_allclose(ours.mean, sb3.mean, rtol=1e-12)
    np.testing.assert_allclose(ours.var, sb3.var, rtol=1e-12)
    assert ours.count == sb3.count
