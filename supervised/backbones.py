"""Backbones by name, and the encoders that curiosity builds from the same modules.

| name         | observation                                    | network                                             |
|--------------|------------------------------------------------|-----------------------------------------------------|
| `mlp`        | Box / Discrete / MultiDiscrete / MultiBinary   | flatten, Linear + activation per `net_arch` width   |
| `icm_cnn`    | uint8 image, channels first or last            | ICM's four 3x3 stride-2 convs, then linear          |
| `nature_cnn` | uint8 image of at least 36x36                  | the DQN paper's CNN (SB3's NatureCNN), 512 features |
| `small_cnn`  | uint8 image, any size (MiniGrid 7x7, 40-84 px) | patchify stem, 3x3 convs to <= 7x7, 256 features    |
| `impala_cnn` | uint8 image, any size                          | IMPALA's conv, max-pool, 2 residual blocks, x3      |
| `attention`  | uint8 image, any size (a token per grid cell)  | patches, position embedding, pre-norm Transformer   |
| `board_cnn`  | board (H, W, C) of any dtype (3x3, 6x7 boards) | 3x3 convs, padding 1, no stride; flatten, 128 feat. |
| `framestack` | window (K, O) or (K, image) (`history: K`)     | per-step features (an image backbone) concat, MLP   |
| `transformer`| window (K, O) or (K, image) (`history: K`)     | per-step embedding, causal self-attention, last pos |

Each is an SB3 ``BaseFeaturesExtractor`` (:class:`~gymsuite.supervised.backbone.Backbone`): pass it as
``policy_kwargs={"features_extractor_class": get(name), "features_extractor_kwargs": {...}}``.
A new backbone is one class and one entry here; a new image backbone's entry goes in
:data:`gymsuite.supervised.images.IMAGE_BACKBONES` (the window backbones encode their steps with those), which
this registry includes. Every image backbone also takes ``augment="shift"`` and ``freeze``;
:func:`default_for` (:mod:`gymsuite.supervised.images`) is the one rule for choosing one.

Shapes: B batch, O observation, C/H/W image, F features.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces
from torch import nn

from gymsuite.common.errors import UserError, closest_hint
from gymsuite.supervised.backbone import Backbone
from gymsuite.supervised.cnn import ImageEncoder, image_layout
from gymsuite.supervised.cnns import BoardCnn
from gymsuite.supervised.images import IMAGE_BACKBONES, default_for, is_image
from gymsuite.supervised.memory import WINDOW_BACKBONES, CausalTransformer, FrameStack
from gymsuite.supervised.mlp import MlpBackbone, mlp
from gymsuite.supervised.progressive import ProgressiveBackbone

__all__ = ["BACKBONES", "accepted_kwargs", "check_kwargs", "default_for", "get", "is_image", "make_encoder"]

BACKBONES: dict[str, type[Backbone]] = {"mlp": MlpBackbone, **IMAGE_BACKBONES, "board_cnn": BoardCnn,
                                        "framestack": FrameStack, "transformer": CausalTransformer,
                                        "progressive": ProgressiveBackbone}


def get(name: str) -> type[Backbone]:
    """The backbone class called ``name``; an unknown name is a :class:`UserError` with the closest one."""
    if name not in BACKBONES:
        raise UserError(f"unknown backbone {name!r}", closest_hint(name, BACKBONES, "backbones"))
    return BACKBONES[name]


def accepted_kwargs(name: str) -> list[str]:
    """The keyword arguments of backbone ``name`` besides its observation space (from its signature)."""
    params = inspect.signature(get(name).__init__).parameters
    return [key for key in params if key not in ("self", "observation_space")]


def check_kwargs(name: str, kwargs: Mapping[str, Any] | None) -> None:
    """Refuse a key of ``kwargs`` that backbone ``name`` does not take, listing those it does.

    Values are checked by the backbone itself, once the observation is known. An unknown ``name``
    is a :class:`UserError` with the closest one.
    """
    accepted = accepted_kwargs(name)
    if kwargs is None:
        return
    if not isinstance(kwargs, Mapping):
        raise UserError(f"backbone_kwargs must be a mapping, got {kwargs!r}", "e.g. backbone_kwargs={features_dim: 64}")
    for key in kwargs:
        if key not in accepted:
            raise UserError(f"unknown option {key!r} of the {name} backbone",
                            f"it takes {', '.join(accepted)}" + _close(key, accepted))


def _close(key: str, accepted: list[str]) -> str:
    hint = closest_hint(key, accepted, "")
    return f" ({hint})" if hint.startswith("did you mean") else ""


def make_encoder(space: spaces.Box, features: int, hidden: int, layers: int = 2, backbone: str | None = None
                 ) -> nn.Module:
    """Curiosity's encoder: obs -> ``(B, features)``. By default ``icm_cnn``'s CNN for images, a ReLU MLP otherwise.

    By default the bare modules, not the backbones: curiosity feeds them
    :class:`~gymsuite.supervised.normalization.ObsNormalizer`'s output (images ``(B, C, H, W)`` in ``[0, 1]``,
    vectors whitened and flattened to ``(B, O)``), and their state-dict keys are those of curiosity
    checkpoints already saved.

    Args:
        space: the observation space. features: F. hidden: the MLP's hidden width.
        layers: the MLP's number of linear layers.
        backbone: an image backbone's name (its ``features_dim`` is F), built for the channels-first
            images curiosity feeds it; ``"mlp"`` is the default MLP, for vectors.
    """
    if backbone in WINDOW_BACKBONES:
        raise UserError(f"curiosity's encoder encodes one observation, and {backbone} reads a window of them",
                        "window backbones are the policy's (backbone=NAME with ppo, a2c, dqn or pg); "
                        "leave curiosity's backbone unset or name an image backbone")
    image = is_image(space)
    if backbone is None or (backbone == "mlp" and not image):
        if image:
            return ImageEncoder(image_layout(space, "curiosity")[0], features)
        return mlp([int(np.prod(space.shape)), *[hidden] * (layers - 1), features])
    cls = get(backbone)
    if cls is MlpBackbone:
        raise UserError("curiosity's mlp encoder takes vector observations, and this one is an image",
                        "leave curiosity's backbone unset (icm's CNN) or name an image backbone, e.g. small_cnn")
    shape = image_layout(space, backbone)[0]
    return cls(spaces.Box(0, 255, shape, np.uint8), features_dim=features)  # type: ignore[call-arg]
