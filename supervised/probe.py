"""Linear probes: how much of a quantity can be read off a network's features by a linear map.

A probe (the explainable-ML chapter's "probing", Alain & Bengio 2016) is a ridge regression
from frozen features to a target the network was never told about (a pixel agent's true
state). Its held-out R^2 says how linearly the features encode that target: near 1, a linear
read-out recovers it; near 0 (or below), no better than predicting the mean.

The features are centred and divided by one scale, their root-mean-square standard deviation, not standardised
one by one: a unit that barely moved in the training episodes (a ReLU that fired once, faintly) would be magnified
by its tiny standard deviation into inputs thousands of times too large on held-out episodes where it fires, and the
held-out R^2 would read -500 for a target the other features give almost exactly (``tests/supervised/test_probe.py``).

Written here in closed form with NumPy (an SVD, so every ridge strength costs one product)
rather than with scikit-learn, which gymsuite does not depend on.

Shapes: N samples, F features, V target variables, K ridge strengths.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Ridge strengths tried, on standardised features; the best on a validation split of the training episodes wins.
ALPHAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4)


@dataclass(frozen=True)
class LinearProbe:
    """A fitted probe: ``targets ~ ((features - mean) / scale) @ weights + bias``.

    Attributes:
        mean: ``(F,)`` the features' means. scale: their one scale (1 when every feature is constant).
        weights: ``(F, V)``. bias: ``(V,)``. alpha: the ridge strength it was fitted with.
    """

    mean: np.ndarray
    scale: float
    weights: np.ndarray
    bias: np.ndarray
    alpha: float

    def predict(self, features: np.ndarray) -> np.ndarray:
        """``(N, F)`` features -> ``(N, V)`` predicted targets."""
        return ((np.asarray(features, np.float64) - self.mean) / self.scale) @ self.weights + self.bias


def fit_ridge(features: np.ndarray, targets: np.ndarray, alphas: Sequence[float] = (1.0,)) -> list[LinearProbe]:
    """Ridge regressions of ``targets`` ``(N, V)`` on scaled ``features`` ``(N, F)``, one per alpha.

    Minimises ``|X W - (Y - mean Y)|^2 + alpha |W|^2`` with X the centred features divided by one scale (the
    root-mean-square of their standard deviations, so the alphas mean what they would on standardised features;
    see the module docstring for why not one scale per feature); the bias (the targets' mean) is not penalised.
    With ``X = U S V^T``, ``W = V diag(s / (s^2 + alpha)) U^T Y``: one SVD serves every alpha.
    """
    x, y = _check(features, targets)
    mean = x.mean(axis=0)
    scale = float(np.sqrt(x.var(axis=0).mean()))
    scale = scale if scale > 1e-12 else 1.0  # constant features stay 0 after centring, whatever their scale
    xs = (x - mean) / scale
    bias = y.mean(axis=0)
    u, s, vt = np.linalg.svd(xs, full_matrices=False)  # u (N, R), s (R,), vt (R, F)
    uty = u.T @ (y - bias)  # (R, V)
    probes = []
    for alpha in alphas:
        if not alpha >= 0:
            raise ValueError(f"ridge strength must be >= 0, got {alpha}")
        shrink = np.divide(s, s**2 + alpha, out=np.zeros_like(s), where=s**2 + alpha > 0)
        probes.append(LinearProbe(mean, scale, vt.T @ (shrink[:, None] * uty), bias, float(alpha)))
    return probes


def r2_scores(targets: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Coefficient of determination per variable: ``1 - SS_res / SS_tot``, ``(N, V)`` x2 -> ``(V,)``.

    ``SS_tot`` is about the mean of ``targets`` themselves (the held-out part's own mean), so a
    probe that predicts a constant scores at most 0. A constant target has no variance to
    explain: its R^2 is NaN.
    """
    y, p = np.asarray(targets, np.float64), np.asarray(predictions, np.float64)
    if y.shape != p.shape or y.ndim != 2:
        raise ValueError(f"targets and predictions must both be (N, V), got {y.shape} and {p.shape}")
    ss_res = ((y - p) ** 2).sum(axis=0)
    ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ss_tot > 1e-12 * len(y), 1.0 - ss_res / ss_tot, np.nan)


def split_episodes(episodes: np.ndarray, test_fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A boolean ``(N,)`` mask of held-out samples: whole episodes, ``test_fraction`` of them (at least one).

    Holding out whole episodes, not random steps, keeps consecutive near-identical frames from
    landing on both sides of the split (which would flatter the probe).

    Raises:
        ValueError: fewer than two distinct episodes.
    """
    ids = np.unique(episodes)
    if len(ids) < 2:
        raise ValueError(f"a held-out split by episode needs at least 2 episodes, got {len(ids)}")
    n_test = min(len(ids) - 1, max(1, round(test_fraction * len(ids))))
    return np.isin(episodes, rng.permutation(ids)[:n_test])


@dataclass(frozen=True)
class ProbeResult:
    """Held-out R^2 ``(V,)`` per variable, the chosen ridge strength and the sample counts."""

    r2: np.ndarray
    alpha: float
    n_train: int
    n_test: int


def probe(features: np.ndarray, targets: np.ndarray, episodes: np.ndarray, test_fraction: float = 0.3,
          seed: int = 0, alphas: Sequence[float] = ALPHAS) -> ProbeResult:
    """Fit a linear probe on some episodes and score it (R^2 per variable) on the others.

    The ridge strength is chosen among ``alphas`` on a second by-episode split of the training
    episodes (when they are at least 2), then the probe is refitted on all of them.

    Args:
        features: ``(N, F)``. targets: ``(N, V)``. episodes: ``(N,)`` episode id of each sample.
        test_fraction: share of the episodes held out. seed: seeds the splits.
    """
    x, y = _check(features, targets)
    episodes = np.asarray(episodes)
    if episodes.shape != (len(x),):
        raise ValueError(f"episodes must be ({len(x)},), got {episodes.shape}")
    rng = np.random.default_rng(seed)
    test = split_episodes(episodes, test_fraction, rng)
    x_train, y_train, ep_train = x[~test], y[~test], episodes[~test]
    alpha = alphas[0]
    if len(alphas) > 1 and len(np.unique(ep_train)) >= 2:
        val = split_episodes(ep_train, test_fraction, rng)
        fits = fit_ridge(x_train[~val], y_train[~val], alphas)
        losses = [float(((p.predict(x_train[val]) - y_train[val]) ** 2 / y_train.var(axis=0).clip(1e-12)).sum())
                  for p in fits]
        alpha = fits[int(np.argmin(losses))].alpha
    fitted = fit_ridge(x_train, y_train, (alpha,))[0]
    return ProbeResult(r2_scores(y[test], fitted.predict(x[test])), float(alpha), int((~test).sum()), int(test.sum()))


def _check(features: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(features, np.float64), np.asarray(targets, np.float64)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
        raise ValueError(f"features must be (N, F) and targets (N, V), got {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("features and targets must be finite")
    return x, y
