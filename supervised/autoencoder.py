"""The auto-encoder half of perception: decoders from features back to observations, and their losses.

A backbone (:class:`~gymsuite.supervised.backbone.Backbone`, the encoder) maps an observation to
features ``(B, F)``; a decoder here maps them back to the observation, and the loss compares
the two. Two losses, both plain auto-encoders with no RL in them:

* ``recon`` (SAC+AE, Yarats et al. 2019): ``MSE(decoder(encoder(x)), x) + latent_l2 * 0.5 * ||z||^2``,
  the small L2 penalty on the latent ``z`` keeping the features from growing to fit the decoder;
* ``denoise`` (the course's de-noising auto-encoder, Vincent et al. 2008): the encoder sees a
  corrupted ``x~`` and the decoder must return the clean ``x``: ``MSE(decoder(encoder(x~)), x)``,
  same latent penalty. Corruption ``gaussian`` adds ``N(0, noise^2)`` (images clipped back to
  ``[0, 1]``); ``mask`` sets each input value to 0 with probability ``noise``.

Targets are the observation as SB3's policy preprocesses it: images scaled to ``[0, 1]`` and
channels first (the decoder ends in a sigmoid), vectors as they are (a linear output). Both
image and vector (``Box``) observations are supported; ``Discrete`` and the like are not.

SB3 has no auto-encoder; this module is the decoder and loss it lacks.

Shapes: B batch, O observation, C/H/W image channels, height, width, F features.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as fn
from gymnasium import spaces
from stable_baselines3.common.preprocessing import is_image_space
from torch import nn

from gymsuite.common.errors import UserError
from gymsuite.supervised.cnn import image_layout
from gymsuite.supervised.mlp import mlp

AUX_LOSSES = ("recon", "denoise")
CORRUPTIONS = ("gaussian", "mask")
_START = 11  # the decoder's first map is at most this many pixels wide (fewer weights in its linear layer)
# The decoder's logits are held within +-_LOGIT in the forward pass only (a straight-through clamp). A pixel that is
# always black drives its logit far negative, where the squared error's gradient (about sigmoid^2 there) and then the
# sigmoid itself become subnormal floats, and every CPU operation on a subnormal takes a slow path: PPO with
# aux=recon on pixel CartPole trained at 369 env steps/s without the clamp, 749 with it (seed 0, 8,192 steps, alone
# on 2 cores). sigmoid(-15) = 3e-7, far below a 1/255 grey level, and the gradient still flows where the clamp binds,
# so a saturated pixel can be pulled back.
_LOGIT = 15.0


def _straight_through_clamp(x: torch.Tensor, bound: float) -> torch.Tensor:
    """``x`` clamped to ``[-bound, bound]`` in value, with the identity's gradient."""
    return x + (x.clamp(-bound, bound) - x).detach()


class ImageDecoder(nn.Module):
    """Features ``(B, F)`` -> image ``(B, C, H, W)`` in ``[0, 1]``, for any H x W.

    A linear layer to a ``(channels, h0, w0)`` map, ``k`` transposed convs that each double
    it (kernel 4, stride 2, padding 1; the last one to C channels, or a 3x3 conv to C when
    ``k = 0``), a crop to H x W, a sigmoid.
    ``k`` is the fewest doublings that bring the first map to at most 11 pixels a side (0 for
    tiny images), so an 84x84 frame starts from 11x11 and a 7x7 grid from 7x7. The sigmoid's
    input is clamped to +-15 in value only (``_LOGIT``: subnormal floats are slow on CPUs).

    Args:
        shape: ``(C, H, W)`` of the image to rebuild.
        features: F.
        channels: width of the hidden maps.
    """

    def __init__(self, shape: tuple[int, int, int], features: int, channels: int = 32) -> None:
        super().__init__()
        c, h, w = shape
        self.shape = shape
        self.ups = 0
        while max(h, w) > _START * 2**self.ups and self.ups < 4:
            self.ups += 1
        self.start = (math.ceil(h / 2**self.ups), math.ceil(w / 2**self.ups))
        self.channels = channels
        self.head = nn.Linear(features, channels * self.start[0] * self.start[1])
        layers: list[nn.Module] = [nn.ReLU()]
        for i in range(self.ups):  # the last one outputs the C channels: no wide map at full resolution (speed)
            last = i == self.ups - 1
            layers.append(nn.ConvTranspose2d(channels, c if last else channels, 4, stride=2, padding=1))
            layers += [] if last else [nn.ReLU()]
        if self.ups == 0:
            layers.append(nn.Conv2d(channels, c, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, F)`` -> ``(B, C, H, W)``."""
        x = self.head(z).view(-1, self.channels, *self.start)  # (B, channels, h0, w0)
        x = self.body(x)  # (B, C, h0 * 2^k, w0 * 2^k), at least H x W
        _, h, w = self.shape
        return torch.sigmoid(_straight_through_clamp(x[:, :, :h, :w], _LOGIT))


class VectorDecoder(nn.Module):
    """Features ``(B, F)`` -> a flat vector observation ``(B, O)`` through a ReLU MLP (linear output)."""

    def __init__(self, size: int, features: int, hidden: int = 64) -> None:
        super().__init__()
        self.net = mlp([features, hidden, size])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def make_decoder(space: spaces.Space, features: int) -> nn.Module:
    """The decoder that rebuilds observations of ``space`` from ``(B, features)``; a :class:`UserError` otherwise."""
    if is_image_space(space, check_channels=False):
        return ImageDecoder(image_layout(space, "auto-encoder")[0], features)
    if isinstance(space, spaces.Box) and space.shape:
        return VectorDecoder(int(math.prod(space.shape)), features)
    raise UserError(f"the auto-encoder rebuilds image or Box observations, not {space}",
                    "leave out aux / pre-training for this environment")


def target_of(x: torch.Tensor, space: spaces.Space) -> torch.Tensor:
    """What the decoder must return for the preprocessed observations ``x`` ``(B, *O)``.

    Images become channels first ``(B, C, H, W)`` (they are already when SB3 transposed them), vectors flat ``(B, O)``.
    """
    if is_image_space(space, check_channels=False):
        if image_layout(space, "auto-encoder")[1]:
            return x.permute(0, 3, 1, 2)  # (B, H, W, C) -> (B, C, H, W)
        return x
    return x.reshape(len(x), -1)


@dataclass(frozen=True)
class AutoEncoderLoss:
    """One auto-encoder loss: ``kind`` (``recon`` or ``denoise``) and its constants (see the module docstring).

    Attributes:
        kind: ``recon`` or ``denoise``.
        latent_l2: weight of ``0.5 * ||z||^2`` (SAC+AE uses 1e-6).
        corruption: ``gaussian`` or ``mask`` (``denoise`` only).
        noise: the Gaussian's standard deviation, or the masking probability (``denoise`` only).
    """

    kind: str = "recon"
    latent_l2: float = 1e-6
    corruption: str = "gaussian"
    noise: float = 0.2

    def corrupt(self, x: torch.Tensor, image: bool) -> torch.Tensor:
        """``x`` ``(B, *O)`` corrupted for ``denoise``; unchanged for ``recon``."""
        if self.kind != "denoise":
            return x
        if self.corruption == "mask":
            return x * (torch.rand_like(x) >= self.noise)
        noisy = x + self.noise * torch.randn_like(x)
        return noisy.clamp(0.0, 1.0) if image else noisy

    def __call__(self, encoder: nn.Module, decoder: nn.Module, x: torch.Tensor,
                 space: spaces.Space) -> dict[str, torch.Tensor]:
        """The losses on preprocessed observations ``x`` ``(B, *O)``: ``{"loss", "<kind>_loss", "latent_l2"}``.

        ``loss`` is the one to minimise: the reconstruction error plus ``latent_l2`` times the latent penalty.
        """
        image = is_image_space(space, check_channels=False)
        z = encoder(self.corrupt(x, image))  # (B, F)
        error = fn.mse_loss(decoder(z), target_of(x, space))
        penalty = 0.5 * z.pow(2).sum(dim=1).mean()
        return {"loss": error + self.latent_l2 * penalty, f"{self.kind}_loss": error, "latent_l2": penalty}
