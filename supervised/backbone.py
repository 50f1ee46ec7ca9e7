"""What every backbone is: an SB3 features extractor ``(B, *O) -> (B, F)`` whose width F is measured.

A backbone holds one network, ``trunk``, and is an SB3 ``BaseFeaturesExtractor``, so it goes
into any SB3 policy through ``policy_kwargs={"features_extractor_class": ...}`` and a saved
model loads back with plain ``ALGO.load``. It learns its width F from one dry forward pass
on an all-zero observation, so no backbone computes a layer arithmetic by hand.

Shapes: B batch, O observation, C/H/W image channels, height, width, F features.
"""

from __future__ import annotations

import torch as th
from gymnasium import spaces
from stable_baselines3.common.preprocessing import preprocess_obs
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn


class Backbone(BaseFeaturesExtractor):
    """An SB3 features extractor around one network: ``(B, *O)`` preprocessed by SB3 -> ``(B, F)``.

    SB3's policy has already preprocessed the observation (images scaled to ``[0, 1]``,
    ``Discrete`` one-hot encoded) when ``forward`` runs.

    Args:
        observation_space: the space the policy sees (for images after SB3's ``VecTransposeImage``).
        trunk: the network; takes ``(B, C, H, W)`` for images, ``(B, *O)`` otherwise.
        channels_last: the observations are ``(B, H, W, C)`` and are turned channels first
            before ``trunk`` (SB3 transposes image envs itself, but a backbone built on a
            channels-last space, outside an SB3 algorithm, must do it).
        freeze: keep the weights fixed (no gradient reaches them). SB3's ``ortho_init`` still
            re-initialises them when the policy is built; pass ``ortho_init=False`` to keep
            pre-trained weights.
    """

    def __init__(self, observation_space: spaces.Space, trunk: nn.Module, *, channels_last: bool = False,
                 freeze: bool = False) -> None:
        super().__init__(observation_space, features_dim=1)  # the true width is measured below
        self.trunk = trunk
        self.channels_last = channels_last
        with th.no_grad():
            self._features_dim = int(self(dry_batch(observation_space)).shape[1])
        if freeze:
            self.requires_grad_(False)

    def forward(self, observations: th.Tensor) -> th.Tensor:
        """``(B, *O)`` -> ``(B, F)``."""
        x = observations.float()
        if self.channels_last:
            x = x.permute(0, 3, 1, 2)  # (B, H, W, C) -> (B, C, H, W)
        return self.trunk(x)

    @property
    def parameter_count(self) -> int:
        """Number of weights, frozen ones included."""
        return sum(p.numel() for p in self.parameters())

    def extra_repr(self) -> str:
        frozen = not any(p.requires_grad for p in self.parameters())
        return f"features_dim={self.features_dim}, parameters={self.parameter_count:,}, frozen={frozen}"


def dry_batch(space: spaces.Space) -> th.Tensor:
    """One all-zero observation ``(1, *O)``, preprocessed as SB3's policies do (images / 255, one-hot)."""
    batch = preprocess_obs(th.zeros((1, *(space.shape or ()))), space)
    if not isinstance(batch, th.Tensor):
        raise TypeError(f"a backbone takes one array observation, not {space}")
    return batch
