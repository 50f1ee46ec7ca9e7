"""Backbones that read one image, by name, and the one rule for choosing a backbone for one observation.

The window backbones (:mod:`gymsuite.supervised.memory`) encode each step of their window with one of these, and
:mod:`gymsuite.supervised.backbones` lists them with the MLP and the window backbones in its registry, so both
take the names and the default from here.

Shapes: C/H/W image.
"""

from __future__ import annotations

from gymnasium import spaces
from stable_baselines3.common.preprocessing import is_image_space

from gymsuite.common.errors import UserError, closest_hint
from gymsuite.supervised.attention import PatchAttention
from gymsuite.supervised.backbone import Backbone
from gymsuite.supervised.cnn import IcmCnn, image_layout
from gymsuite.supervised.cnns import NATURE_MIN_SIZE, ImpalaCnn, NatureCnn, SmallCnn

IMAGE_BACKBONES: dict[str, type[Backbone]] = {"icm_cnn": IcmCnn, "nature_cnn": NatureCnn, "small_cnn": SmallCnn,
                                              "impala_cnn": ImpalaCnn, "attention": PatchAttention}


def image_backbone(name: str) -> type[Backbone]:
    """The image backbone class called ``name``; an unknown name is a :class:`UserError` with the closest one."""
    if name not in IMAGE_BACKBONES:
        raise UserError(f"unknown image backbone {name!r}", closest_hint(name, IMAGE_BACKBONES, "image backbones"))
    return IMAGE_BACKBONES[name]


def is_image(space: spaces.Space) -> bool:
    """Whether ``space`` is a 3-axis uint8 image (channels first or last), the observation the CNNs take."""
    return is_image_space(space, check_channels=False)


def default_for(space: spaces.Space) -> str:
    """The backbone chosen when the user names none: ``nature_cnn`` for images of at least 36x36,
    ``small_cnn`` for smaller ones (SB3's default CNN cannot take them), ``mlp`` otherwise."""
    if not is_image(space):
        return "mlp"
    _, h, w = image_layout(space, "default")[0]
    return "nature_cnn" if min(h, w) >= NATURE_MIN_SIZE else "small_cnn"
