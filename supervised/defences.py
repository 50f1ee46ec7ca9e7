"""Passive defences (the course's chapter 8): a filter in front of the network, which is left unchanged.

* :func:`bit_depth`: pixels quantised to ``bits`` bits (Xu et al. 2018's feature squeezing): a perturbation
  smaller than a quantisation step mostly disappears;
* :func:`median_filter`: each channel's ``k x k`` median, the course's "smoothing" of an image;
* :func:`vote`: randomised smoothing's decision (Cohen et al. 2019): the most frequent of the actions taken on
  ``n`` noisy copies of the observation (the median for continuous actions). The noise is drawn by the caller,
  who knows the observation's units.

The course's warning holds for all three: an attacker who knows the filter can put it in its own model; the
attacks of ``gymsuite attack`` do not (they craft against the bare network), so a defence's robust return is an
upper bound on what an adaptive attacker leaves.

Shapes: B batch, C/H/W an image's channels, height and width (channels first, as SB3's policies see them),
K noisy copies, A action dimensions.
"""

from __future__ import annotations

import numpy as np


def bit_depth(x: np.ndarray, bits: int) -> np.ndarray:
    """uint8 pixels ``(B, C, H, W)`` kept to their top ``bits`` bits, each level at the middle of its range."""
    if not 1 <= bits <= 8:
        raise ValueError(f"bits must be 1..8, got {bits}")
    step = 2 ** (8 - bits)
    return ((x.astype(np.int64) // step) * step + step // 2).clip(0, 255).astype(x.dtype)


def median_filter(x: np.ndarray, k: int) -> np.ndarray:
    """Each image channel of ``(B, C, H, W)`` replaced by its ``k x k`` median (edges reflected)."""
    if k < 1:
        raise ValueError(f"the median filter's size must be at least 1, got {k}")
    from scipy import ndimage  # on first use: about 0.2 s that every command would pay at start

    return ndimage.median_filter(x, size=(1, 1, k, k), mode="reflect")


def vote(actions: np.ndarray) -> np.ndarray:
    """One action per observation from ``(K, B)`` discrete actions (the most frequent; ties: the smallest) or
    ``(K, B, A)`` continuous ones (the median per dimension)."""
    if actions.ndim == 2 and np.issubdtype(actions.dtype, np.integer):
        counts = np.stack([np.bincount(column, minlength=int(actions.max()) + 1) for column in actions.T])
        return counts.argmax(axis=1)
    return np.median(actions, axis=0)
