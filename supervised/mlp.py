"""The plain MLP builder: ``(B, inputs) -> (B, outputs)``, B the batch."""

from __future__ import annotations

from torch import nn


def mlp(inputs: int, hidden: int, outputs: int, layers: int = 2) -> nn.Sequential:
    """``layers`` linear layers with ReLU between them: ``(B, inputs) -> (B, outputs)``."""
    sizes = [inputs] + [hidden] * (layers - 1) + [outputs]
    mods: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        mods += [nn.Linear(sizes[i], sizes[i + 1]), nn.ReLU()]
    return nn.Sequential(*mods[:-1])
