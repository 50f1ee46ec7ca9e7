"""What every backbone is: an SB3 features extractor ``(B, *O) -> (B, F)`` whose width F is measured.

A backbone holds one network, ``trunk``, and is an SB3 ``BaseFeaturesExtractor``, so it goes
into any SB3 policy through ``policy_kwargs={"features_extractor_class": ...}`` and a saved
model loads back with plain ``ALGO.load``. It learns its width F from one dry forward pass
on an all-zero observation, so no backbone computes a layer arithmetic by hand.

An image backbone may augment its input while it trains (``augment="shift"``, DrQ's random
shift, :func:`random_shift`): SB3 puts the policy in training mode only inside ``train()``, so
rollouts and predictions see the true frames.

Shapes: B batch, O observation, C/H/W image channels, height, width, F features.
"""

from __future__ import annotations

import torch as th
from gymnasium import spaces
from stable_baselines3.common.preprocessing import preprocess_obs
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from gymsuite.common.errors import UserError, closest_hint

AUGMENTS = ("shift",)


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
        augment: ``"shift"``: DrQ's random shift of image inputs in training mode
            (:func:`random_shift`); ``None``: none.
    """

    def __init__(self, observation_space: spaces.Space, trunk: nn.Module, *, channels_last: bool = False,
                 freeze: bool = False, augment: str | None = None) -> None:
        super().__init__(observation_space, features_dim=1)  # the true width is measured below
        self.trunk = trunk
        self.channels_last = channels_last
        self.augment = check_augment(augment, observation_space)
        with th.no_grad():
            self._features_dim = int(self(dry_batch(observation_space)).shape[1])
        if freeze:
            self.requires_grad_(False)

    def forward(self, observations: th.Tensor) -> th.Tensor:
        """``(B, *O)`` -> ``(B, F)``."""
        x = observations.float()
        if self.channels_last:
            x = x.permute(0, 3, 1, 2)  # (B, H, W, C) -> (B, C, H, W)
        if self.augment == "shift" and self.training:
            x = random_shift(x)
        return self.trunk(x)

    @property
    def parameter_count(self) -> int:
        """Number of weights, frozen ones included."""
        return sum(p.numel() for p in self.parameters())

    def extra_repr(self) -> str:
        frozen = not any(p.requires_grad for p in self.parameters())
        augment = f", augment={self.augment}" if self.augment else ""
        return f"features_dim={self.features_dim}, parameters={self.parameter_count:,}, frozen={frozen}{augment}"


def check_augment(augment: str | None, space: spaces.Space) -> str | None:
    """``augment`` if it is one of :data:`AUGMENTS` and ``space`` can take it, else a :class:`UserError`."""
    if augment is None:
        return None
    if augment not in AUGMENTS:
        raise UserError(f"unknown augmentation {augment!r}", closest_hint(str(augment), AUGMENTS, "augmentations"))
    if len(space.shape or ()) != 3:
        raise UserError(f"augment={augment} shifts images, but the observation is {space}",
                        "leave augment unset for vector observations")
    return augment


def shift_padding(height: int, width: int) -> int:
    """DrQ's padding, 4 px at 84x84, scaled to the image's smaller side (at least 1 px)."""
    return max(1, round(4 * min(height, width) / 84))


def random_shift(images: th.Tensor) -> th.Tensor:
    """DrQ's random shift (Kostrikov et al. 2020): replicate-pad, then crop back at a random offset per sample.

    ``(B, C, H, W)`` -> ``(B, C, H, W)``; the padding is :func:`shift_padding`'s. Written here
    because SB3 has no augmentation; ``torch.roll`` would wrap the far edge around instead.
    """
    b, c, h, w = images.shape
    pad = shift_padding(h, w)
    padded = nn.functional.pad(images, (pad, pad, pad, pad), mode="replicate")  # (B, C, H + 2p, W + 2p)
    dy, dx = (th.randint(0, 2 * pad + 1, (b, 1), device=images.device) for _ in range(2))
    rows = dy + th.arange(h, device=images.device)  # (B, H)
    cols = dx + th.arange(w, device=images.device)  # (B, W)
    batch = th.arange(b, device=images.device)[:, None, None, None]
    channel = th.arange(c, device=images.device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]


def dry_batch(space: spaces.Space) -> th.Tensor:
    """One all-zero observation ``(1, *O)``, preprocessed as SB3's policies do (images / 255, one-hot)."""
    batch = preprocess_obs(th.zeros((1, *(space.shape or ()))), space)
    if not isinstance(batch, th.Tensor):
        raise TypeError(f"a backbone takes one array observation, not {space}")
    return batch


def positive_int(backbone: str, key: str, value: object) -> int:
    """``value`` if it is a positive integer (not a bool), else a :class:`UserError` naming ``backbone``'s ``key``."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise UserError(f"{backbone}'s {key} must be a positive integer, got {value!r}", f"e.g. {key}=64")
    return value


def encoder_of(policy: nn.Module) -> BaseFeaturesExtractor:
    """The features extractor an SB3 policy acts through and its RL loss trains.

    The actor-critic's ``pi_features_extractor`` (its ``features_extractor``, shared with the critic
    or not), DQN's online Q-network's, or an actor's. DQN's target network and a separate critic
    extractor are copies or siblings of it.
    """
    for owner in (policy, getattr(policy, "q_net", None), getattr(policy, "actor", None)):
        for name in ("pi_features_extractor", "features_extractor"):
            module = getattr(owner, name, None)
            if isinstance(module, BaseFeaturesExtractor):
                return module
    raise UserError(f"cannot find the features extractor of the policy {type(policy).__name__}",
                    "use an agent of ppo, a2c, pg or dqn")
