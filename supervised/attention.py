"""Self-attention over image patches (the course's self-attention chapter, applied to an agent's view).

The image is cut into P x P patches; each is linearly embedded (a conv whose kernel and
stride are P is exactly that linear map), a learned position embedding is added, a few
pre-norm Transformer encoder layers let every patch attend to every other one, and the
tokens are pooled (a CLS token, or their mean) and mapped to F features (ViT, Dosovitskiy
et al. 2021, made small). With P = 1 each cell of a grid observation (MiniGrid's 7x7 view)
is one token.

Shapes: B batch, C/H/W image channels, height and width, P patch side, N = (H // P) (W // P)
tokens (plus one CLS token), D embedding width, F features.
"""

from __future__ import annotations

import math

import torch
from gymnasium import spaces
from torch import nn

from gymsuite.common.errors import UserError, closest_hint
from gymsuite.supervised.backbone import Backbone, positive_int
from gymsuite.supervised.cnn import image_layout

POOLS = ("cls", "mean")
TOKENS_PER_SIDE = 8  # the default patch size gives at most 8 x 8 tokens: attention costs N^2


def default_patch_size(height: int, width: int) -> int:
    """1 (a token per pixel) up to 16x16, else the side that leaves at most 8 tokens along the larger side."""
    side = max(height, width)
    return 1 if side <= 16 else math.ceil(side / TOKENS_PER_SIDE)


class PatchTransformer(nn.Module):
    """``(B, C, H, W)`` -> patches -> Transformer encoder -> pooled ``(B, features)``.

    Pixels right or below the last whole patch are left out (``H % P`` rows, ``W % P`` columns).
    """

    def __init__(self, shape: tuple[int, int, int], features: int, patch_size: int, embed_dim: int, depth: int,
                 heads: int, pool: str) -> None:
        super().__init__()
        c, h, w = shape
        self.embed = nn.Conv2d(c, embed_dim, patch_size, stride=patch_size)  # (B, D, H // P, W // P)
        tokens = (h // patch_size) * (w // patch_size)
        self.pool = pool
        self.cls = nn.Parameter(torch.zeros(1, 1, embed_dim)) if pool == "cls" else None
        self.position = nn.Parameter(torch.randn(1, tokens + (pool == "cls"), embed_dim) * 0.02)
        # Pre-norm (norm_first) trains without warm-up; no dropout: SB3 collects rollouts in eval mode.
        layer = nn.TransformerEncoderLayer(embed_dim, heads, dim_feedforward=2 * embed_dim, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(embed_dim)
        self.head = nn.Sequential(nn.Linear(embed_dim, features), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(x).flatten(2).transpose(1, 2)  # (B, D, H', W') -> (B, N, D)
        if self.cls is not None:
            # (B, N + 1, D); shape[0], not len(tokens): an export keeps B dynamic
            tokens = torch.cat([self.cls.expand(tokens.shape[0], -1, -1), tokens], dim=1)
        tokens = self.norm(self.encoder(tokens + self.position))
        pooled = tokens[:, 0] if self.cls is not None else tokens.mean(dim=1)  # (B, D)
        return self.head(pooled)


class PatchAttention(Backbone):
    """Self-attention over patches of a uint8 image: ``(B, C, H, W)`` -> ``(B, features_dim)``.

    Args:
        observation_space: a uint8 image ``Box`` in ``[0, 255]``, at least ``patch_size`` on each side.
        features_dim: F.
        patch_size: P; default :func:`default_patch_size` (1 for grids up to 16x16).
        embed_dim: D, divisible by ``heads``.
        depth: Transformer encoder layers.
        heads: attention heads.
        pool: ``"cls"`` (a learned token that attends to the patches) or ``"mean"``.
        freeze, augment: see :class:`~gymsuite.supervised.backbone.Backbone`.
    """

    def __init__(self, observation_space: spaces.Space, features_dim: int = 64, patch_size: int | None = None,
                 embed_dim: int = 32, depth: int = 1, heads: int = 2, pool: str = "cls", freeze: bool = False,
                 augment: str | None = None) -> None:
        shape, channels_last = image_layout(observation_space, "attention")
        _, h, w = shape
        for key, value in {"features_dim": features_dim, "embed_dim": embed_dim, "depth": depth,
                           "heads": heads}.items():
            positive_int("attention", key, value)
        patch = default_patch_size(h, w) if patch_size is None else positive_int("attention", "patch_size",
                                                                                 patch_size)
        if patch > min(h, w):
            raise UserError(f"the attention backbone's patch_size {patch} is larger than the {h}x{w} image",
                            f"use patch_size={default_patch_size(h, w)} (or leave it unset)")
        if embed_dim % heads:
            raise UserError(f"the attention backbone's embed_dim {embed_dim} is not divisible by heads={heads}",
                            "e.g. embed_dim=32 heads=2")
        if pool not in POOLS:
            raise UserError(f"unknown attention pool {pool!r}", closest_hint(str(pool), POOLS, "pools"))
        trunk = PatchTransformer(shape, features_dim, patch, embed_dim, depth, heads, pool)
        super().__init__(observation_space, trunk, channels_last=channels_last, freeze=freeze, augment=augment)
        self.patch_size = patch
