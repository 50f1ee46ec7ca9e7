"""Adversarial perturbations of a policy's observation (the course's chapter 8), on tensors.

An attack looks for ``x`` with ``d(x0, x) <= eps`` (the L-infinity distance: no feature moves by more than its
``eps``) that changes what the network does. Each attack here is one function of a :class:`Victim` (the network's
action distribution and, for actor-critics, its value, both differentiable in the observation) and a batch of
observations:

* :func:`random_noise`: uniform noise in the ball, the baseline every attack must beat;
* :func:`fgsm`: one step of ``eps * sign(gradient)`` (Goodfellow et al. 2015);
* :func:`pgd`: ``steps`` signed gradient steps of ``step_size`` from a random start, each projected back onto the
  ball and the observation's bounds (Madry et al. 2018);

and what they maximise, one function each, per sample ``(B,)``:

* :func:`action_loss`: ``-log pi(a* | x)`` for the greedy action ``a*`` at ``x0`` (untargeted: push it down);
* :func:`value_loss`: ``-V(x)`` (push the critic toward a low value);
* :func:`kl_loss`: ``KL(pi(. | x0) || pi(. | x))``, SA-PPO's maximal action difference (MAD, Zhang et al. 2020).
  Its gradient is zero at ``x0``, so only a random start moves it (:data:`ATTACKS` gives ``mad`` one).

:func:`craft` names them (:data:`ATTACKS`); :func:`smoothness_loss` is SA-PPO's regulariser built from the MAD
attack. ``eps`` is a number or a tensor broadcastable to one observation (a per-feature radius: the caller maps
a radius in the env's units through an observation normaliser, see ``gymsuite.agents.saved.victims``).

Shapes: B batch, O observation (any shape: ``(4,)``, ``(C, H, W)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.distributions import Distribution, kl_divergence

Loss = Callable[[Tensor], Tensor]  # observations (B, *O) -> what the attack maximises, per sample (B,)
Radius = float | Tensor  # a number, or a tensor broadcastable to (*O)


@dataclass(frozen=True)
class Victim:
    """What an attack needs of a network, on observations ``(B, *O)`` as floats.

    Attributes:
        dist: the action distribution at ``x``; its ``log_prob(a)`` is ``(B,)`` and its ``mode`` the greedy action.
        value: the critic's ``(B,)`` estimate at ``x``, or None (no critic: the ``critic`` attack is refused).
    """

    dist: Callable[[Tensor], Distribution]
    value: Callable[[Tensor], Tensor] | None = None


@dataclass(frozen=True)
class Bounds:
    """Where an observation may lie: ``low``/``high`` broadcastable to ``(*O)`` (``inf`` for unbounded features);
    ``integer``: pixels, which a perturbation leaves whole numbers."""

    low: Tensor
    high: Tensor
    integer: bool = False

    def project(self, x: Tensor, x0: Tensor, eps: Radius) -> Tensor:
        """``x`` clipped to the ball of radius ``eps`` around ``x0``, then to the bounds (both boxes: exact)."""
        x = torch.maximum(torch.minimum(x, x0 + eps), x0 - eps)
        return torch.maximum(torch.minimum(x, self.high), self.low)

    def finish(self, x: Tensor, x0: Tensor, eps: Radius) -> Tensor:
        """:meth:`project`, and for pixels a whole-number perturbation of at most ``floor(eps)``."""
        x = self.project(x, x0, eps)
        if not self.integer:
            return x
        whole = torch.floor(torch.as_tensor(eps, dtype=x.dtype))
        return self.project(x0 + torch.clamp(torch.round(x - x0), -whole, whole), x0, eps)


def greedy(dist: Distribution) -> Tensor:
    """The distribution's most likely action (``mode``: the argmax of a categorical, a Gaussian's mean)."""
    return dist.mode.detach()


def action_loss(victim: Victim, x0: Tensor) -> Loss:
    """``x -> -log pi(a* | x)``, with ``a*`` the greedy action at ``x0``: larger when ``a*`` is less likely."""
    with torch.no_grad():
        action = greedy(victim.dist(x0))
    return lambda x: -victim.dist(x).log_prob(action)


def value_loss(victim: Victim, x0: Tensor) -> Loss:
    """``x -> -V(x)``: larger when the critic thinks the state worse."""
    value = victim.value
    if value is None:
        raise ValueError("this network has no critic")
    return lambda x: -value(x)


def kl_loss(victim: Victim, x0: Tensor) -> Loss:
    """``x -> KL(pi(. | x0) || pi(. | x))``, the clean distribution held fixed (SA-PPO's MAD objective)."""
    with torch.no_grad():
        clean = victim.dist(x0)
    return lambda x: kl_divergence(clean, victim.dist(x))


def gradient(loss: Loss, x: Tensor) -> Tensor:
    """``d sum(loss(x)) / dx`` ``(B, *O)``; the network's parameters get no gradient."""
    return value_and_gradient(loss, x)[1]


def value_and_gradient(loss: Loss, x: Tensor) -> tuple[Tensor, Tensor]:
    """``loss(x)`` ``(B,)`` (detached) and its gradient ``(B, *O)`` from one forward pass."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        value = loss(x)
        (grad,) = torch.autograd.grad(value.sum(), x)
    return value.detach(), grad


def random_noise(x0: Tensor, eps: Radius, bounds: Bounds, generator: torch.Generator | None = None) -> Tensor:
    """``x0`` plus noise drawn uniformly from ``[-eps, eps]`` per feature ``(B, *O)``."""
    u = (torch.rand(x0.shape, generator=generator) * 2 - 1).to(x0)  # drawn on the CPU: seeded alike anywhere
    return bounds.finish(x0 + u * eps, x0, eps)


def fgsm(loss: Loss, x0: Tensor, eps: Radius, bounds: Bounds) -> Tensor:
    """The fast gradient sign method: ``x0 + eps * sign(d loss / dx)`` in one step ``(B, *O)``."""
    return bounds.finish(x0 + eps * torch.sign(gradient(loss, x0)), x0, eps)


def pgd(loss: Loss, x0: Tensor, eps: Radius, bounds: Bounds, steps: int = 10, step_size: Radius | None = None,
        random_start: bool = True, generator: torch.Generator | None = None) -> Tensor:
    """Projected gradient ascent on ``loss`` in the L-infinity ball: ``(B, *O)``.

    ``step_size`` defaults to ``2.5 * eps / steps`` (Madry et al.: enough to cross the ball and come back).
    The point with the highest loss seen (per sample; the start included) is returned, not the last one. Each
    gradient is taken at a candidate (for pixels, the whole-number point), whose loss comes with it: ``steps + 1``
    forward passes and ``steps`` backward ones in all.
    """
    size = 2.5 * eps / steps if step_size is None else step_size
    x = random_noise(x0, eps, Bounds(bounds.low, bounds.high), generator) if random_start else x0
    best, best_loss = x0, torch.full(x0.shape[:1], -torch.inf, device=x0.device)
    for k in range(steps + 1):  # the start and each of the steps' points are candidates
        candidate = bounds.finish(x, x0, eps)
        if k < steps:  # the loss where the gradient is taken: one forward pass for both
            value, grad = value_and_gradient(loss, candidate)
            x = bounds.project(x + size * torch.sign(grad), x0, eps)
        else:
            with torch.no_grad():
                value = loss(candidate)
        better = value > best_loss
        best = torch.where(better.view(-1, *[1] * (x0.dim() - 1)), candidate, best)
        best_loss = torch.maximum(value, best_loss)
    return best


ATTACKS = ("random", "fgsm", "pgd", "critic", "mad")  # transfer:RUN2 is pgd on another network (agents/saved)


def craft(attack: str, victim: Victim, x0: Tensor, eps: Radius, bounds: Bounds, steps: int = 10,
          step_size: Radius | None = None, generator: torch.Generator | None = None) -> Tensor:
    """The perturbed observations ``(B, *O)`` of attack ``attack`` (one of :data:`ATTACKS`) on ``victim``.

    ``pgd``, ``critic`` and ``mad`` take ``steps`` steps of ``step_size``; ``critic`` and ``mad`` are PGD on
    :func:`value_loss` and :func:`kl_loss`.
    """
    x0 = x0 if x0.is_floating_point() else x0.float()  # pixels arrive as integers
    if attack == "random":
        return random_noise(x0, eps, bounds, generator)
    if attack == "fgsm":
        return fgsm(action_loss(victim, x0), x0, eps, bounds)
    losses = {"pgd": action_loss, "critic": value_loss, "mad": kl_loss}
    if attack not in losses:
        raise ValueError(f"unknown attack {attack!r}")
    return pgd(losses[attack](victim, x0), x0, eps, bounds, steps, step_size, True, generator)


def smoothness_loss(victim: Victim, x0: Tensor, eps: Radius, bounds: Bounds, steps: int = 5,
                    generator: torch.Generator | None = None) -> Tensor:
    """SA-PPO's smoothness regulariser: ``mean KL(pi(. | x0) || pi(. | x0 + delta))`` (a scalar, >= 0), with
    ``delta`` found by the MAD attack (PGD on :func:`kl_loss`); the gradient reaches the network's parameters
    through ``pi(. | x0 + delta)`` only (the clean distribution is the fixed target, the perturbation a constant).
    """
    x0 = x0 if x0.is_floating_point() else x0.float()  # pixels arrive as integers
    adversarial = pgd(kl_loss(victim, x0), x0, eps, bounds, steps, None, True, generator).detach()
    with torch.no_grad():
        clean = victim.dist(x0)
    return kl_divergence(clean, victim.dist(adversarial)).mean()
