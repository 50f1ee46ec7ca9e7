"""Image encoders: ``(B, C, H, W)`` floats in ``[0, 1]`` -> ``(B, F)`` features.

B batch, C/H/W image channels, height and width (channels first), F feature width.
"""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
from torch import nn

from supervised.mlp import mlp


class ImageEncoder(nn.Module):
    """ICM's small CNN (Pathak et al. 2017): four 3x3 stride-2 convs of 32 channels with ELU, then linear.

    ``(B, C, H, W)`` in ``[0, 1]`` -> ``(B, features)``. The conv output width is found by one dry pass.
    """

    def __init__(self, shape: tuple[int, int, int], features: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = shape[0]
        for _ in range(4):
            layers += [nn.Conv2d(channels, 32, 3, stride=2, padding=1), nn.ELU()]
            channels = 32
        self.convs = nn.Sequential(*layers, nn.Flatten())
        with torch.no_grad():
            width = self.convs(torch.zeros(1, *shape)).shape[1]
        self.head = nn.Linear(width, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.convs(x))


def make_encoder(space: spaces.Box, features: int, hidden: int, layers: int = 2) -> nn.Module:
    """A CNN for image spaces, an MLP over the flattened vector otherwise: obs -> ``(B, features)``."""
    if is_image_space(space, check_channels=False):
        shape = space.shape if is_image_space_channels_first(space) else (space.shape[2], *space.shape[:2])
        return ImageEncoder(tuple(shape), features)
    return mlp(int(np.prod(space.shape)), hidden, features, layers)
