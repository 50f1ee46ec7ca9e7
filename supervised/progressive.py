"""Progressive networks (Rusu et al. 2016): a new column per task, the earlier columns frozen, joined by laterals.

The course's "additional neural resource allocation" with growth: task k trains column k, whose layer l reads its own
layer l-1 and, through a lateral adapter, the earlier columns' layer l-1; columns 0..k-1 are frozen, so what they
compute for their own tasks never changes. As a backbone (``backbone=progressive``, ``columns=K``) its features are
the last column's last layer; a policy's heads read them.

Shapes: B batch, O observation (flattened), W each layer's width, K columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch as th
from gymnasium import spaces
from stable_baselines3.common.torch_layers import get_flattened_obs_dim
from torch import nn

from gymsuite.common.errors import UserError
from gymsuite.supervised.backbone import Backbone
from gymsuite.supervised.mlp import DEFAULT_NET_ARCH, FLAT_SPACES


class Columns(nn.Module):
    """K MLP columns of widths ``net_arch`` on an O-vector; ``(B, O) -> (B, W_last)`` of the last column."""

    def __init__(self, in_dim: int, net_arch: Sequence[int], columns: int) -> None:
        super().__init__()
        widths = [in_dim, *net_arch]
        self.columns = nn.ModuleList(
            nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))
            for _ in range(columns))
        # lateral[k][i-1]: the earlier columns' layer i-1 (k x W_{i-1} entries) into column k's layer i
        self.laterals = nn.ModuleList(
            nn.ModuleList(nn.Linear(k * widths[i], widths[i + 1], bias=False) for i in range(1, len(net_arch)) if k)
            for k in range(columns))

    def forward(self, x: th.Tensor) -> th.Tensor:
        """``(B, O)`` -> the last column's last layer ``(B, W_last)``."""
        outputs: list[list[th.Tensor]] = []  # [column][layer] activations
        for k, (column, lateral) in enumerate(zip(self.columns, self.laterals, strict=True)):
            assert isinstance(column, nn.ModuleList) and isinstance(lateral, nn.ModuleList)
            acts: list[th.Tensor] = []
            for i, layer in enumerate(column):
                z = layer(x if i == 0 else acts[-1])
                if i > 0 and k > 0:
                    z = z + lateral[i - 1](th.cat([outputs[j][i - 1] for j in range(k)], dim=1))
                acts.append(th.tanh(z))
            outputs.append(acts)
        return outputs[-1][-1]


class ProgressiveBackbone(Backbone):
    """``columns`` progressive MLP columns; all but the last frozen: ``(B, *O) -> (B, net_arch[-1])``.

    Args:
        observation_space: ``Box``, ``Discrete``, ``MultiDiscrete`` or ``MultiBinary``.
        net_arch: each column's hidden widths; the last one is F.
        columns: K, the task's column is the last; the earlier ones are frozen (their weights come from the earlier
            tasks' policies: :func:`gymsuite.agents.run.continual.init_from_previous`).
        freeze: freeze the last column too.
    """

    def __init__(self, observation_space: spaces.Space, net_arch: Sequence[int] = DEFAULT_NET_ARCH, columns: int = 1,
                 freeze: bool = False) -> None:
        if not isinstance(observation_space, FLAT_SPACES):
            raise UserError(f"the progressive backbone takes a vector observation, got {observation_space}",
                            "use it on Box, Discrete, MultiDiscrete or MultiBinary observations")
        if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1 or not net_arch:
            raise UserError(f"the progressive backbone needs columns >= 1 and a non-empty net_arch, got columns="
                            f"{columns!r}, net_arch={net_arch!r}", "e.g. backbone_kwargs={columns: 2}")
        trunk = nn.Sequential(nn.Flatten(), Columns(get_flattened_obs_dim(observation_space), net_arch, columns))
        super().__init__(observation_space, trunk, freeze=freeze)
        body = trunk[1]
        assert isinstance(body, Columns)
        for k in range(columns - 1):
            body.columns[k].requires_grad_(False)
            body.laterals[k].requires_grad_(False)


__all__ = ["Columns", "ProgressiveBackbone"]
