"""Image networks: ICM's small CNN, and the image backbone around it.

Shapes: B batch, C/H/W image channels, height and width, F feature width. Observations are
uint8 images ``(C, H, W)`` or ``(H, W, C)``; networks take ``(B, C, H, W)`` floats in ``[0, 1]``.
"""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from gymsuite.common.errors import UserError
from gymsuite.supervised.backbone import Backbone, positive_int


class ImageEncoder(nn.Module):
    """ICM's small CNN (Pathak et al. 2017): four 3x3 stride-2 convs of 32 channels with ELU, then linear.

    ``(B, C, H, W)`` in ``[0, 1]`` -> ``(B, features)``. The conv output width is found by one dry pass.
    Stride 2 with padding 1 rounds up, so any image of at least 1x1 fits (an 84x84 frame ends 6x6).
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


def image_layout(space: spaces.Space, backbone: str) -> tuple[tuple[int, int, int], bool]:
    """``((C, H, W), channels_last)`` of a uint8 image space, or a :class:`UserError` naming what is wrong.

    The channel axis is the smallest one, first or last (SB3's rule, ``is_image_space_channels_first``).
    """
    if not isinstance(space, spaces.Box) or len(space.shape) != 3:
        raise UserError(f"the {backbone} backbone needs an image observation (H, W, C) or (C, H, W), got {space}",
                        "use the 'mlp' backbone for vector observations")
    if space.dtype != np.uint8 or np.any(space.low != 0) or np.any(space.high != 255):
        raise UserError(f"the {backbone} backbone needs uint8 pixels in [0, 255], got {space}",
                        "keep frames as uint8 0-255 (SB3's policy scales them to [0, 1] itself)")
    channel_axis = int(np.argmin(space.shape))
    if channel_axis == 1:
        raise UserError(f"the {backbone} backbone cannot tell the channel axis of the image shape {space.shape}: "
                        "the smallest axis is in the middle",
                        "give images as (H, W, C) or (C, H, W) with C the smallest axis")
    c, h, w = space.shape if channel_axis == 0 else (space.shape[2], space.shape[0], space.shape[1])
    return (int(c), int(h), int(w)), channel_axis == 2


class IcmCnn(Backbone):
    """ICM's small CNN as a features extractor: uint8 ``(B, C, H, W)`` or ``(B, H, W, C)`` -> ``(B, features_dim)``.

    The same :class:`ImageEncoder` that curiosity's ICM and RND encode images with. Its
    output is the linear head's (no activation): the policy's ``net_arch`` layers follow.

    Args:
        observation_space: a uint8 image ``Box`` in ``[0, 255]``, channels first or last.
        features_dim: F.
        freeze, augment: see :class:`~gymsuite.supervised.backbone.Backbone`.
    """

    def __init__(self, observation_space: spaces.Space, features_dim: int = 256, freeze: bool = False,
                 augment: str | None = None) -> None:
        shape, channels_last = image_layout(observation_space, "icm_cnn")
        features_dim = positive_int("icm_cnn", "features_dim", features_dim)
        super().__init__(observation_space, ImageEncoder(shape, features_dim), channels_last=channels_last,
                         freeze=freeze, augment=augment)
