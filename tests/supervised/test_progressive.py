"""Progressive columns: the width, the frozen earlier columns, the laterals, the parameter count."""

from __future__ import annotations

import pytest
import torch
from gymnasium import spaces

from gymsuite.common.errors import UserError
from gymsuite.supervised import backbones
from gymsuite.supervised.progressive import ProgressiveBackbone


def test_last_column_trains_and_reads_the_earlier_ones_through_laterals() -> None:
    net = ProgressiveBackbone(spaces.Box(-1, 1, (5,)), net_arch=[8, 3], columns=3)
    assert net.features_dim == 3 and net(torch.zeros(2, 5)).shape == (2, 3)
    trainable = {n for n, p in net.named_parameters() if p.requires_grad}
    assert trainable == {"trunk.1.columns.2.0.weight", "trunk.1.columns.2.0.bias", "trunk.1.columns.2.1.weight",
                         "trunk.1.columns.2.1.bias", "trunk.1.laterals.2.0.weight"}
    # columns: 3 x (5*8 + 8 + 8*3 + 3); laterals into layer 2: column 1 reads 8, column 2 reads 16 entries
    assert sum(p.numel() for p in net.parameters()) == 3 * (40 + 8 + 24 + 3) + (8 + 16) * 3
    x = torch.randn(4, 5)
    before = net(x)
    with torch.no_grad():
        net.trunk[1].columns[0][0].weight.add_(1.0)  # column 0 changes: the last column's output follows
    assert not torch.allclose(net(x), before)


def test_registered_and_checked() -> None:
    assert backbones.get("progressive") is ProgressiveBackbone
    with pytest.raises(UserError, match="columns"):
        ProgressiveBackbone(spaces.Box(-1, 1, (5,)), columns=0)
