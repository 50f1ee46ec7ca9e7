"""Meta-learning's outer updates on parameter vectors: Reptile and first-order MAML.

Both learn an initialisation ``phi`` from which a few steps of ordinary training adapt well to a new task. For a
batch of M tasks, the inner loop trains a copy of ``phi`` on task i's support data, giving adapted weights
``theta_i`` (any optimiser: here PPO's own training on the task).

* Reptile (Nichol, Achiam and Schulman 2018, "On first-order meta-learning algorithms", Algorithm 2):
  ``phi <- phi + epsilon * (1/M) sum_i (theta_i - phi)``, an interpolation toward the adapted weights.
* First-order MAML (Finn et al. 2017, the first-order approximation of section 5.2): ``g_i`` is the gradient of
  task i's loss on its query data, taken at ``theta_i`` and treated as if it were the gradient at ``phi``
  (the second-order terms dropped): ``phi <- phi - beta * (1/M) sum_i g_i``.

A parameter set is a mapping name -> tensor (a ``state_dict``); every set must hold the same names and shapes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

Params = Mapping[str, torch.Tensor]


def _check(meta: Params, others: Sequence[Params], what: str) -> None:
    if not others:
        raise ValueError(f"no {what}: a meta-step needs at least one task")
    for other in others:
        if set(other) != set(meta):
            differ = sorted(set(other) ^ set(meta))[:3]
            raise ValueError(f"{what} hold other parameters than the meta-weights: {differ}")
        for name, value in other.items():
            if value.shape != meta[name].shape:
                raise ValueError(f"{what}: {name} has shape {tuple(value.shape)}, the meta-weights' "
                                 f"{tuple(meta[name].shape)}")


def reptile_step(meta: Params, adapted: Sequence[Params], step_size: float) -> dict[str, torch.Tensor]:
    """Reptile's outer update: ``phi + step_size * mean_i(theta_i - phi)`` for every floating-point tensor.

    Args:
        meta: the meta-weights ``phi``.
        adapted: ``theta_i``, the weights after the inner loop on each of the M tasks.
        step_size: ``epsilon`` in [0, 1] (1: jump to the mean of the adapted weights; 0: no change).

    Returns:
        New tensors (the inputs are not changed); integer tensors (a batch-norm counter) are copied from ``meta``.
    """
    _check(meta, adapted, "adapted weights")
    out = {}
    for name, phi in meta.items():
        if not torch.is_floating_point(phi):
            out[name] = phi.clone()
            continue
        mean = torch.stack([a[name].to(phi) for a in adapted]).mean(0)
        out[name] = phi + step_size * (mean - phi)
    return out


def fomaml_step(meta: Params, query_grads: Sequence[Params], lr: float) -> dict[str, torch.Tensor]:
    """First-order MAML's outer update: ``phi - lr * mean_i(g_i)``, ``g_i`` the query gradient at ``theta_i``.

    Args:
        meta: the meta-weights ``phi``.
        query_grads: per task, the gradient of the query loss at the adapted weights (same names as ``meta``;
            a name without gradient may hold zeros).
        lr: the outer learning rate ``beta``.
    """
    _check(meta, query_grads, "query gradients")
    out = {}
    for name, phi in meta.items():
        if not torch.is_floating_point(phi):
            out[name] = phi.clone()
            continue
        out[name] = phi - lr * torch.stack([g[name].to(phi) for g in query_grads]).mean(0)
    return out


__all__ = ["Params", "fomaml_step", "reptile_step"]
