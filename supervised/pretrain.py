"""Pre-training a backbone as the encoder of an auto-encoder, on a fixed array of frames (no RL, no env).

``frames`` are observations as the policy receives them before SB3's preprocessing: uint8
images ``(N, C, H, W)`` (or channels last) or vectors ``(N, *O)``. Each epoch visits them all in
shuffled minibatches and minimises :class:`~gymsuite.supervised.autoencoder.AutoEncoderLoss` with Adam
over the encoder and the decoder together.

Shapes: N frames, B batch, O observation, C/H/W image, F features.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.preprocessing import preprocess_obs

from gymsuite.supervised.autoencoder import AutoEncoderLoss, make_decoder
from gymsuite.supervised.backbone import Backbone


@dataclass(frozen=True)
class PretrainSettings:
    """How to train: ``epochs`` passes of ``batch_size`` minibatches at Adam's ``learning_rate``, from ``seed``."""

    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    seed: int = 0


def preprocess(frames: np.ndarray, space: spaces.Space) -> torch.Tensor:
    """``(B, *O)`` raw observations -> the float tensor a backbone takes (images scaled to ``[0, 1]``)."""
    out = preprocess_obs(torch.as_tensor(frames), space)
    assert isinstance(out, torch.Tensor)
    return out.float()


def pretrain(encoder: Backbone, frames: np.ndarray, space: spaces.Space, loss: AutoEncoderLoss,
             settings: PretrainSettings, progress: Callable[[int, float], object] | None = None) -> list[float]:
    """Train ``encoder`` (in place) with a fresh decoder on ``frames`` ``(N, *O)``; return each epoch's mean loss.

    Args:
        encoder: the backbone to train.
        frames: the observations, in ``space``'s layout.
        space: their observation space.
        loss: ``recon`` or ``denoise`` with its constants.
        settings: epochs, minibatch size, step size and seed.
        progress: called after each minibatch with ``(frames done, its loss)`` (a progress bar).
    """
    torch.manual_seed(settings.seed)
    decoder = make_decoder(space, encoder.features_dim)
    params = [p for p in [*encoder.parameters(), *decoder.parameters()] if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=settings.learning_rate)
    rng = np.random.default_rng(settings.seed)
    encoder.train()
    history = []
    for _ in range(settings.epochs):
        order, total = rng.permutation(len(frames)), 0.0
        for start in range(0, len(frames), settings.batch_size):
            batch = preprocess(frames[order[start:start + settings.batch_size]], space)  # (B, *O)
            value = loss(encoder, decoder, batch, space)["loss"]
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
            total += value.item() * len(batch)
            if progress is not None:
                progress(len(batch), value.item())
        history.append(total / len(frames))
    encoder.eval()
    return history
