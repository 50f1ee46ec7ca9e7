"""Backbones by name, and the encoders that curiosity builds from the same modules.

| name      | observation                                   | network                                          |
|-----------|-----------------------------------------------|--------------------------------------------------|
| `mlp`     | Box / Discrete / MultiDiscrete / MultiBinary  | flatten, Linear + activation per `net_arch` width |
| `icm_cnn` | uint8 image, channels first or last           | ICM's four 3x3 stride-2 convs, then linear        |

Each is an SB3 ``BaseFeaturesExtractor`` (:class:`~supervised.backbone.Backbone`): pass it as
``policy_kwargs={"features_extractor_class": get(name), "features_extractor_kwargs": {...}}``.
A new backbone is one class and one entry here.

Shapes: B batch, O observation, C/H/W image, F features.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.preprocessing import is_image_space
from torch import nn

from common.errors import UserError, closest_hint
from supervised.backbone import Backbone
from supervised.cnn import IcmCnn, ImageEncoder, image_layout
from supervised.mlp import MlpBackbone, mlp

BACKBONES: dict[str, type[Backbone]] = {"mlp": MlpBackbone, "icm_cnn": IcmCnn}


def get(name: str) -> type[Backbone]:
    """The backbone class called ``name``; an unknown name is a :class:`UserError` with the closest one."""
    if name not in BACKBONES:
        raise UserError(f"unknown backbone {name!r}", closest_hint(name, BACKBONES, "backbones"))
    return BACKBONES[name]


def make_encoder(space: spaces.Box, features: int, hidden: int, layers: int = 2) -> nn.Module:
    """Curiosity's encoder: ``icm_cnn``'s CNN for images, a ReLU MLP otherwise: obs -> ``(B, features)``.

    The bare modules, not the backbones: curiosity feeds them :class:`~supervised.normalization.ObsNormalizer`'s
    output (images ``(B, C, H, W)`` in ``[0, 1]``, vectors whitened and flattened to ``(B, O)``), and
    their state-dict keys are those of curiosity checkpoints already saved.

    Args:
        space: the observation space. features: F. hidden: the MLP's hidden width.
        layers: the MLP's number of linear layers.
    """
    if is_image_space(space, check_channels=False):
        return ImageEncoder(image_layout(space, "curiosity")[0], features)
    return mlp([int(np.prod(space.shape)), *[hidden] * (layers - 1), features])
