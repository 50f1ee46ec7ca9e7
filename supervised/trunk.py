"""The shared actor-critic trunk: an MLP features extractor ``(B, *obs_shape) -> (B, net_arch[-1])``."""

from __future__ import annotations

import torch as th
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, create_mlp, get_flattened_obs_dim
from torch import nn

DEFAULT_NET_ARCH = [64, 64]


class SharedTrunk(BaseFeaturesExtractor):
    """An MLP trunk that the actor and the critic share (course RL 3: "share the first layers").

    Args:
        observation_space: flattened to ``O`` inputs.
        net_arch: hidden layer widths; the last one is the feature width.
        activation_fn: after every layer.
    """

    def __init__(self, observation_space: spaces.Space, net_arch: list[int] = DEFAULT_NET_ARCH,
                 activation_fn: type[nn.Module] = nn.Tanh) -> None:
        if not net_arch:
            raise ValueError("share_trunk needs at least one hidden layer in net_arch")
        super().__init__(observation_space, features_dim=net_arch[-1])
        layers = create_mlp(get_flattened_obs_dim(observation_space), -1, list(net_arch), activation_fn)
        self.trunk = nn.Sequential(nn.Flatten(), *layers)

    def forward(self, observations: th.Tensor) -> th.Tensor:
        """``(B, *obs_shape) -> (B, net_arch[-1])``."""
        return self.trunk(observations.float())
