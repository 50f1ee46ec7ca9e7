"""Keeping what a network learned on old tasks: the course's selective synaptic plasticity and memory replay.

The course's regulariser (life-long learning, "selective synaptic plasticity") adds to the new task's loss

    L'(theta) = L(theta) + lambda * sum_i b_i (theta_i - theta_i^b)^2

where ``theta^b`` are the parameters after the old tasks and ``b_i`` how much parameter i mattered to them.
EWC (Kirkpatrick et al. 2017) takes ``b`` as the diagonal of the Fisher information of the old task's
(policy) distribution, ``F_i = E_s E_{a ~ pi(.|s)} [(d log pi(a|s) / d theta_i)^2]`` (:func:`diagonal_fisher`);
L2 takes ``b_i = 1``. :func:`quadratic_penalty` is ``1/2 sum_i b_i (theta_i - theta_i^b)^2``: zero at the old
parameters, with gradient ``b_i (theta_i - theta_i^b)``, pointing away from them (a descent step goes back).

Memory replay keeps old states with the old policy's action distribution and penalises the new policy's
divergence from it, ``KL(pi_old(.|s) || pi(.|s))`` (behaviour cloning on the old task, ClonEx's key ingredient,
Wolczyk et al. 2022): :func:`replay_kl`.

PackNet (Mallya & Lazebnik 2018), the course's "additional neural resource allocation" without growth: after task k
only the largest-magnitude share of the still free weights is kept for it (:func:`magnitude_keep`), the rest is
zeroed and left to later tasks, and task k's weights are frozen from then on.

Shapes: M states, O observation, A actions (Categorical) or action dimensions (Gaussian).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor
from torch.distributions import Categorical, Distribution, Normal, kl_divergence


def diagonal_fisher(params: Sequence[Tensor], log_prob: Callable[[Tensor], Tensor], states: Tensor) -> list[Tensor]:
    """The diagonal Fisher information of each of ``params`` on ``states`` ``(M, *O)``.

    ``log_prob(s)`` returns ``log pi(a|s)`` ``(1,)`` for one state ``s`` ``(1, *O)`` and an action ``a`` the
    caller samples from ``pi(.|s)`` itself (detached), so the squared score's mean is the Fisher, not the
    empirical Fisher of stored actions. Parameters the log-probability does not reach get zeros.
    """
    total = [torch.zeros_like(p) for p in params]
    for row in states:
        with torch.enable_grad():
            grads = torch.autograd.grad(log_prob(row.unsqueeze(0)).sum(), list(params), allow_unused=True)
        for acc, grad in zip(total, grads, strict=True):
            if grad is not None:
                acc += grad.detach() ** 2
    return [acc / max(len(states), 1) for acc in total]


def quadratic_penalty(params: Sequence[Tensor], anchors: Sequence[Tensor], importance: Sequence[Tensor]) -> Tensor:
    """``1/2 sum_i b_i (theta_i - theta_i^b)^2`` over every tensor of ``params`` (a scalar)."""
    terms = [(b * (p - a) ** 2).sum() for p, a, b in zip(params, anchors, importance, strict=True)]
    return 0.5 * torch.stack(terms).sum() if terms else torch.zeros(())


def stored_distribution(stored: Mapping[str, Tensor]) -> Distribution:
    """The old policy's distribution from what a memory keeps: ``probs`` ``(M, A)`` (Categorical) or ``mean`` and
    ``std`` ``(M, A)`` (a diagonal Gaussian)."""
    if "probs" in stored:
        return Categorical(probs=stored["probs"])
    return Normal(stored["mean"], stored["std"])


def replay_kl(old: Distribution, new: Distribution) -> Tensor:
    """``mean_s KL(pi_old(.|s) || pi(.|s))`` (a scalar; a Gaussian's dimensions summed)."""
    kl = kl_divergence(old, new)
    return (kl.sum(-1) if kl.dim() > 1 else kl).mean()


def magnitude_keep(weight: Tensor, free: Tensor, share: float) -> Tensor:
    """The entries of ``weight`` to keep: the ``share`` (0..1] of the ``free`` entries (a bool mask of its shape)
    with the largest magnitude (ties broken by position); a bool mask, False outside ``free``."""
    n_free = int(free.sum())
    keep = min(n_free, max(0, round(share * n_free)))
    out = torch.zeros_like(free, dtype=torch.bool)
    if keep == 0:
        return out
    scores = torch.where(free, weight.detach().abs(), torch.full_like(weight, -1.0)).flatten()
    top = torch.topk(scores, keep, sorted=False).indices
    out.view(-1)[top] = True
    return out


__all__ = ["diagonal_fisher", "magnitude_keep", "quadratic_penalty", "replay_kl", "stored_distribution"]
