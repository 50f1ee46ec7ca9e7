"""The course's evaluation of life-long learning, from the matrix ``R``.

``R[i, j]`` is the performance on task j after training on tasks 1..i (row 0: before any training, the random
initialisation), T tasks, so ``R`` is ``(T + 1, T)``. As the course defines them:

* average performance (accuracy)  ``1/T sum_j R[T, j]``;
* backward transfer  ``BWT = 1/(T-1) sum_{i<T} (R[T, i] - R[i, i])`` (negative: forgetting);
* forward transfer   ``FWT = 1/(T-1) sum_{i>1} (R[i-1, i] - R[0, i])`` (what the earlier tasks did for task i
  before it was trained).

Continual World (Wolczyk et al. 2021) reports them on success rates in [0, 1]; for returns each column is normalised
``p[i, j] = clip((R[i, j] - low_j) / (high_j - low_j), 0, 1)`` with ``low_j`` a random agent's return and
``high_j`` the task's top score (its env's registered ``reward_threshold``, else the best return in the column),
and its forgetting is ``1/(T-1) sum_{i<T} (p[i, i] - p[T, i])`` (= -BWT on ``p``). Continual World's forward
transfer compares areas under training curves with a single-task reference; it is not computed here (``FWT`` on
``p`` is the course's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import numpy as np

Numbers = Union[Sequence[float], np.ndarray]  # noqa: UP007  (a runtime alias)


def normalize(matrix: np.ndarray, low: Numbers, high: Numbers) -> np.ndarray:
    """``p`` of the module docstring: ``matrix`` ``(K, T)`` scaled per column between ``low`` and ``high`` (T,)."""
    lows = np.asarray(low, dtype=float)
    span = np.asarray(high, dtype=float) - lows
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(span > 0, (matrix - lows) / np.where(span > 0, span, 1.0), 0.0)
    return np.clip(p, 0.0, 1.0)


def top_scores(matrix: np.ndarray, thresholds: Sequence[float | None]) -> list[float]:
    """``high_j``: the registered ``reward_threshold`` of task j, else the best return in column j after training."""
    return [float(t) if t is not None else float(np.nanmax(matrix[1:, j])) for j, t in enumerate(thresholds)]


def sequence_metrics(matrix: np.ndarray, low: Numbers, high: Numbers) -> dict[str, Any]:
    """The course's metrics of ``matrix`` ``(T + 1, T)``, raw and normalised between ``low`` and ``high`` (T,)
    (module docstring)."""
    r = np.asarray(matrix, dtype=float)
    t = r.shape[1]
    p = normalize(r, low, high)
    out: dict[str, Any] = {"average_performance": float(r[t].mean()),
                           "average_performance_normalized": float(p[t].mean())}
    for name, m in (("", r), ("_normalized", p)):
        out[f"backward_transfer{name}"] = float(np.mean([m[t, i] - m[i + 1, i] for i in range(t - 1)]))
        out[f"forward_transfer{name}"] = float(np.mean([m[i, i] - m[0, i] for i in range(1, t)]))
    out["forgetting"] = -out["backward_transfer_normalized"]
    out["normalized"] = p.tolist()
    return out


def final_metrics(final: Numbers, low: Numbers, high: Numbers) -> dict[str, Any]:
    """Average performance of one row of returns ``final`` (T,): multi-task training's, or the single-task
    references' (each task's own agent), raw and normalised between ``low`` and ``high``."""
    p = normalize(np.asarray([final], dtype=float), low, high)
    return {"average_performance": float(np.mean(final)), "average_performance_normalized": float(p[0].mean())}
