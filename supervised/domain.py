"""Domain-adversarial training's network half: the gradient reversal layer, the domain classifier and its loss.

The course's chapter 9 (Ganin et al. 2016, "Domain-adversarial training of neural networks"): a feature extractor
``G_f`` feeds the task's head and a **domain classifier** ``G_d`` that tells source observations from target ones.
``G_d`` is trained to tell them apart (minimise the domain loss ``L_d``); ``G_f`` is trained to make them
indistinguishable (maximise ``L_d``), so that what the head learned on the source applies on the target. One
backward pass does both through a **gradient reversal layer** ``R_lambda``: the identity forward, ``-lambda`` x the
gradient backward, placed between the features and the classifier::

    loss = L_task(G_y(G_f(x_s))) + L_d(G_d(R_lambda(G_f(x))), domain)
    d loss / d theta_d = + d L_d / d theta_d               (the classifier learns to tell the domains apart)
    d loss / d theta_f = d L_task / d theta_f - lambda d L_d / d theta_f   (the features learn to hide them)

At the saddle point the classifier's accuracy is 50%: the features carry no sign of the domain. When the
classifier wins early, the reversed gradient vanishes with its loss; :func:`confusion_loss` (Tzeng et al. 2015) is
the features' alternative objective whose gradient does not.

Shapes: B batch (source and target halves), F features.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as fn
from torch import nn

from gymsuite.supervised.mlp import mlp


class _Reverse(torch.autograd.Function):
    """The identity forward; ``-scale`` x the incoming gradient backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.scale * grad, None


def reverse_gradient(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """``x`` unchanged, with its gradient multiplied by ``-scale`` on the way back (Ganin et al.'s ``R_lambda``)."""
    return _Reverse.apply(x, float(scale))


class GradientReversal(nn.Module):
    """:func:`reverse_gradient` as a layer, ``scale`` being lambda."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = float(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return reverse_gradient(x, self.scale)


def domain_classifier(features_dim: int, hidden: int = 64) -> nn.Module:
    """``G_d``: features ``(B, F)`` -> one logit ``(B, 1)`` of "this observation is from the target domain"."""
    return mlp([features_dim, hidden, hidden, 1])


def domain_loss(classifier: nn.Module, source: torch.Tensor, target: torch.Tensor,
                scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The domain loss on source features ``(B_s, F)`` (label 0) and target features ``(B_t, F)`` (label 1).

    The features pass through the gradient reversal layer first, so one ``backward`` trains the classifier to
    tell the domains apart and hands the features ``-scale`` x the gradient that would help it.

    Returns:
        the binary cross-entropy (a scalar, averaged over both halves with equal weight) and the classifier's
        accuracy on them (a scalar in ``[0, 1]``, no gradient).
    """
    logits = classifier(reverse_gradient(torch.cat([source, target]), scale)).squeeze(-1)  # (B_s + B_t,)
    labels = torch.cat([torch.zeros(len(source)), torch.ones(len(target))]).to(logits)
    weights = torch.cat([torch.full((len(source),), 0.5 / len(source)),
                         torch.full((len(target),), 0.5 / len(target))]).to(logits)
    loss = (fn.binary_cross_entropy_with_logits(logits, labels, reduction="none") * weights).sum()
    with torch.no_grad():
        correct = ((logits > 0).float() == labels).float()
        accuracy = (correct * weights).sum()
    return loss, accuracy


def confusion_loss(classifier: nn.Module, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The domain-confusion loss (Tzeng et al. 2015): the cross-entropy between the classifier's output on source
    ``(B_s, F)`` and target ``(B_t, F)`` features and the uniform 50/50 answer, both domains weighted equally.

    The features minimise it instead of maximising :func:`domain_loss` through the reversal: its gradient,
    ``sigmoid(z) - 1/2`` per logit, does not vanish when the classifier is sure of itself, where the reversed
    binary cross-entropy's (``sigmoid(z) - y``) does. Only the features should step on it (the classifier's own
    update is :func:`domain_loss`'s).
    """
    logits = classifier(torch.cat([source, target])).squeeze(-1)  # (B_s + B_t,)
    weights = torch.cat([torch.full((len(source),), 0.5 / len(source)),
                         torch.full((len(target),), 0.5 / len(target))]).to(logits)
    return (fn.binary_cross_entropy_with_logits(logits, torch.full_like(logits, 0.5), reduction="none")
            * weights).sum()


__all__ = ["GradientReversal", "confusion_loss", "domain_classifier", "domain_loss", "reverse_gradient"]
