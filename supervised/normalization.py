"""Observation preprocessing for networks trained outside SB3's policies (curiosity, reward models).

Shapes: B batch, O observation, C/H/W image (channels first once preprocessed).
"""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
from stable_baselines3.common.running_mean_std import RunningMeanStd


def update_rms(rms: RunningMeanStd, batch: np.ndarray) -> None:
    """``rms.update(batch)`` for a batch ``(B, *S)``, without ``np.var``'s generality (about 12 µs a call): a
    per-step update over 8 envs took about 20 µs against 25 (measured). Same moments, to rounding."""
    batch = np.asarray(batch, dtype=np.float64)
    mean = batch.mean(axis=0)
    rms.update_from_moments(mean, np.square(batch - mean).mean(axis=0), batch.shape[0])


class ObsNormalizer:
    """Turns raw observations into network input: images to ``[0, 1]`` CHW, vectors whitened.

    Vector observations are whitened with running statistics and clipped to ``[-5, 5]``, as in
    RND (Burda et al. 2018): without it, inputs of very different scales (MountainCar's
    position in ``[-1.2, 0.6]``, velocity in ``[-0.07, 0.07]``) hide the small ones from the
    randomly initialised target network.

    Args:
        space: a ``Box`` observation space; uint8 ``(H, W, C)`` or ``(C, H, W)`` is an image.
        normalize: whiten vector observations (images are always scaled by 1/255).
    """

    def __init__(self, space: spaces.Box, normalize: bool = True) -> None:
        self.image = is_image_space(space, check_channels=False)
        self.channels_last = self.image and not is_image_space_channels_first(space)
        self.normalize = normalize and not self.image
        self.rms = RunningMeanStd(shape=space.shape)

    def update(self, obs: np.ndarray) -> None:
        """Update the running statistics with a batch ``(B, *O)``."""
        if self.normalize:
            update_rms(self.rms, obs)

    def __call__(self, obs: np.ndarray) -> torch.Tensor:
        """``(B, *O)`` array -> float tensor ``(B, C, H, W)`` for images, ``(B, O)`` for vectors."""
        if self.image:
            x = torch.as_tensor(obs, dtype=torch.float32) / 255.0
            return x.permute(0, 3, 1, 2) if self.channels_last else x  # (B, H, W, C) -> (B, C, H, W)
        return torch.as_tensor(self.vectors(obs))

    def vectors(self, obs: np.ndarray) -> np.ndarray:
        """Vector observations ``(B, *O)`` -> the network input ``(B, O)`` float32 (``__call__`` without torch)."""
        vectors = np.asarray(obs, dtype=np.float32)
        if self.normalize:
            vectors = np.clip((vectors - self.rms.mean) / np.sqrt(self.rms.var + 1e-8), -5.0, 5.0)
        return vectors.astype(np.float32, copy=False).reshape(len(vectors), -1)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"mean": torch.as_tensor(self.rms.mean), "var": torch.as_tensor(self.rms.var),
                "count": torch.tensor(float(self.rms.count))}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.rms.mean, self.rms.var = state["mean"].numpy().copy(), state["var"].numpy().copy()
        self.rms.count = float(state["count"])
