"""The image backbones of the CNN chapter: the DQN paper's network, a fast small CNN, and IMPALA's residual CNN;
and a CNN for board games' small boards.

Each image backbone takes a uint8 image observation ``(C, H, W)`` or ``(H, W, C)`` (checked by
:func:`gymsuite.supervised.cnn.image_layout`) and gives ``(B, F)`` features after a ReLU. :class:`BoardCnn` takes a
board ``(H, W, C)`` of planes (floats, channels last, as PettingZoo's classic games give them).

Shapes: B batch, C/H/W image channels, height and width, F features. The networks
(``trunk``) take ``(B, C, H, W)`` floats in ``[0, 1]`` (SB3's policy divides by 255).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from gymsuite.common.errors import UserError
from gymsuite.supervised.backbone import Backbone, positive_int
from gymsuite.supervised.cnn import image_layout

NATURE_MIN_SIZE = 36  # 8x8/4, 4x4/2, 3x3/1 leave no pixel below 36x36


class NatureCnn(Backbone):
    """The DQN paper's CNN (Mnih et al. 2015), as SB3's ``NatureCNN``: ``(B, C, H, W)`` -> ``(B, features_dim)``.

    Conv 32 8x8 stride 4, conv 64 4x4 stride 2, conv 64 3x3 stride 1 (ReLU after each), then
    Linear to ``features_dim`` and ReLU. Made for 84x84 Atari frames; below 36x36 no pixel is
    left, and the error points to ``small_cnn``.

    Args:
        observation_space: a uint8 image ``Box`` in ``[0, 255]`` of at least 36x36.
        features_dim: F.
        freeze, augment: see :class:`~gymsuite.supervised.backbone.Backbone`.
    """

    def __init__(self, observation_space: spaces.Space, features_dim: int = 512, freeze: bool = False,
                 augment: str | None = None) -> None:
        (c, h, w), channels_last = image_layout(observation_space, "nature_cnn")
        if min(h, w) < NATURE_MIN_SIZE:
            raise UserError(f"the nature_cnn backbone needs images of at least {NATURE_MIN_SIZE}x{NATURE_MIN_SIZE}, "
                            f"got {h}x{w}", "use backbone=small_cnn for small images")
        features_dim = positive_int("nature_cnn", "features_dim", features_dim)
        convs = nn.Sequential(nn.Conv2d(c, 32, 8, stride=4), nn.ReLU(), nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
                              nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(), nn.Flatten())
        trunk = nn.Sequential(*convs, nn.Linear(_width(convs, (c, h, w)), features_dim), nn.ReLU())
        super().__init__(observation_space, trunk, channels_last=channels_last, freeze=freeze, augment=augment)


def small_cnn_strides(height: int, width: int, last: int) -> int:
    """How many stride-2 convs bring the larger side of the image down to at most ``last`` (rounding up)."""
    size, halvings = max(height, width), 0
    while size > last:
        size, halvings = math.ceil(size / 2), halvings + 1
    return halvings


class SmallCnn(Backbone):
    """A fast CNN for small images (MiniGrid's 7x7 view, 40-84 px frames): ``(B, C, H, W)`` -> ``(B, features_dim)``.

    The image must shrink by 2^k to bring its larger side to at most ``last_size``
    (:func:`small_cnn_strides`: 56 -> 7 is k = 3, 72 -> 9 is k = 3, 84 -> 6 is k = 4; a 7x7 grid keeps every
    cell, k = 0). The stem does all but the last halving at once, as a non-overlapping S x S conv with
    S = 2^(k-1) (a "patchify" stem, as in ConvNeXt: 56 -> 14), or a 3x3 conv when S is 1 or 2; then 3x3
    convs with padding 1, the first with stride 2 if k >= 1, one per entry of ``channels``.
    ReLU after each conv, then Linear to ``features_dim`` and ReLU (256 by default: with 64, PPO
    learned pixel CartPole more slowly). Little work is spent at full resolution, where
    NatureCNN's 8x8 stride-4 conv spends most of its time.

    ``last_size`` is 9 by default, not 7: on pixel CartPole's 48x72 frames 7 patchified 8x8 pixels at once and
    ended on a 3x5 map, too coarse to place a pole, and PPO reached a return of 50-95 at 65,536 steps where
    ``nature_cnn`` reached 411-500; with 9 the stem takes 4x4 patches, the map is 6x9 and the return 332-500, at
    1.8-1.9x ``nature_cnn``'s steps/s (issue 27, item 5: ``benchmarks/pixels.py``'s return section). 84x84 frames
    (Atari) and 7x7 grids (MiniGrid) get the same network with either.

    Args:
        observation_space: a uint8 image ``Box`` in ``[0, 255]``, any size.
        features_dim: F.
        channels: output channels of the stem and of each conv after it (at least two entries).
        last_size: the largest side of the last feature map.
        freeze, augment: see :class:`~gymsuite.supervised.backbone.Backbone`.
    """

    def __init__(self, observation_space: spaces.Space, features_dim: int = 256,
                 channels: Sequence[int] = (16, 32), last_size: int = 9, freeze: bool = False,
                 augment: str | None = None) -> None:
        shape, channels_last = image_layout(observation_space, "small_cnn")
        features_dim = positive_int("small_cnn", "features_dim", features_dim)
        last_size = positive_int("small_cnn", "last_size", last_size)
        widths = _channels("small_cnn", channels)
        if len(widths) < 2:
            raise UserError(f"small_cnn's channels needs at least two entries (stem, conv), got {channels!r}",
                            "e.g. channels=[16, 32]")
        halvings = small_cnn_strides(shape[1], shape[2], last_size)
        stem = 2 ** max(halvings - 1, 0)
        layers: list[nn.Module] = [nn.Conv2d(shape[0], widths[0], stem, stride=stem) if stem > 2
                                   else nn.Conv2d(shape[0], widths[0], 3, stride=stem, padding=1), nn.ReLU()]
        for i, (inputs, out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            stride = 2 if i == 0 and halvings >= 1 else 1
            layers += [nn.Conv2d(inputs, out, 3, stride=stride, padding=1), nn.ReLU()]
        convs = nn.Sequential(*layers, nn.Flatten())
        trunk = nn.Sequential(*convs, nn.Linear(_width(convs, shape), features_dim), nn.ReLU())
        super().__init__(observation_space, trunk, channels_last=channels_last, freeze=freeze, augment=augment)


class ResidualBlock(nn.Module):
    """IMPALA's residual block: ``x + conv(relu(conv(relu(x))))``, 3x3 convs keeping ``(B, C, H, W)``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv1(torch.relu(self.conv0(torch.relu(x))))


class ImpalaCnn(Backbone):
    """IMPALA's residual CNN (Espeholt et al. 2018; Procgen's baseline): ``(B, C, H, W)`` -> ``(B, features_dim)``.

    Per stack: conv 3x3, max-pool 3x3 stride 2 (padding 1, so any size fits), two
    :class:`ResidualBlock`; then ReLU, Linear to ``features_dim``, ReLU.

    Args:
        observation_space: a uint8 image ``Box`` in ``[0, 255]``, any size.
        features_dim: F.
        channels: output channels of each stack.
        freeze, augment: see :class:`~gymsuite.supervised.backbone.Backbone`.
    """

    def __init__(self, observation_space: spaces.Space, features_dim: int = 256,
                 channels: Sequence[int] = (16, 32, 32), freeze: bool = False, augment: str | None = None) -> None:
        shape, channels_last = image_layout(observation_space, "impala_cnn")
        c = shape[0]
        features_dim = positive_int("impala_cnn", "features_dim", features_dim)
        layers: list[nn.Module] = []
        for out in _channels("impala_cnn", channels):
            layers += [nn.Conv2d(c, out, 3, padding=1), nn.MaxPool2d(3, stride=2, padding=1),
                       ResidualBlock(out), ResidualBlock(out)]
            c = out
        convs = nn.Sequential(*layers, nn.ReLU(), nn.Flatten())
        trunk = nn.Sequential(*convs, nn.Linear(_width(convs, shape), features_dim), nn.ReLU())
        super().__init__(observation_space, trunk, channels_last=channels_last, freeze=freeze, augment=augment)


def _channels(backbone: str, channels: Sequence[int]) -> list[int]:
    """``channels`` as a non-empty list of positive ints, else a :class:`UserError`."""
    if isinstance(channels, str) or not isinstance(channels, Sequence) or not channels:
        raise UserError(f"{backbone}'s channels must be a non-empty list of positive integers, got {channels!r}",
                        "e.g. channels=[16, 32]")
    return [positive_int(backbone, "channels", ch) for ch in channels]


def _width(convs: nn.Module, shape: tuple[int, int, int]) -> int:
    """The flattened width of ``convs``' output for one ``(C, H, W)`` image (one dry pass)."""
    with torch.no_grad():
        return int(convs(torch.zeros(1, *shape)).shape[1])


class BoardCnn(Backbone):
    """A CNN for small boards (tic-tac-toe's (3, 3, 2), Connect Four's (6, 7, 2)): ``(B, H, W, C)`` -> ``(B, F)``.

    Every cell matters and a board is a few cells wide, so nothing shrinks it: 3x3 convs with padding 1 and stride 1,
    one per entry of ``channels``, ReLU after each, then a flatten of all ``H * W * channels[-1]`` values, Linear to
    ``features_dim`` and ReLU. The image backbones assume pixels (uint8 in [0, 255], strides that halve 40-84 px
    frames); a board's planes are floats (0/1 marks), channels last as PettingZoo gives them.

    Args:
        observation_space: a 3-axis ``Box``: a board ``(H, W, C)``, channels last, any dtype; or a uint8 image
            (channels first or last, :func:`~gymsuite.supervised.cnn.image_layout`'s rule).
        features_dim: F.
        channels: output channels of each conv (at least one entry).
        freeze: see :class:`~gymsuite.supervised.backbone.Backbone`.
        augment: see :class:`~gymsuite.supervised.backbone.Backbone` (a shift moves a board's lines: rarely wanted).
    """

    def __init__(self, observation_space: spaces.Space, features_dim: int = 128, channels: Sequence[int] = (32, 64),
                 freeze: bool = False, augment: str | None = None) -> None:
        shape, channels_last = board_layout(observation_space)
        features_dim = positive_int("board_cnn", "features_dim", features_dim)
        layers: list[nn.Module] = []
        inputs = shape[0]
        for out in _channels("board_cnn", channels):
            layers += [nn.Conv2d(inputs, out, 3, padding=1), nn.ReLU()]
            inputs = out
        convs = nn.Sequential(*layers, nn.Flatten())
        trunk = nn.Sequential(*convs, nn.Linear(_width(convs, shape), features_dim), nn.ReLU())
        super().__init__(observation_space, trunk, channels_last=channels_last, freeze=freeze, augment=augment)


def board_layout(space: spaces.Space) -> tuple[tuple[int, int, int], bool]:
    """``((C, H, W), channels_last)`` of a board ``(H, W, C)`` (any dtype) or a uint8 image, else a
    :class:`UserError`."""
    if isinstance(space, spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3:
        return image_layout(space, "board_cnn")
    if not isinstance(space, spaces.Box) or len(space.shape) != 3:
        raise UserError(f"the board_cnn backbone needs a board observation (rows, columns, planes), got {space}",
                        "use the 'mlp' backbone for vector observations")
    h, w, c = (int(n) for n in space.shape)
    return (c, h, w), True
