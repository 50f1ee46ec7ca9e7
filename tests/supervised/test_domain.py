"""The gradient reversal layer and the domain classifier's loss (supervised/domain.py)."""

from __future__ import annotations

import torch

from gymsuite.supervised.domain import (
    GradientReversal,
    confusion_loss,
    domain_classifier,
    domain_loss,
    reverse_gradient,
)


def test_reversal_is_the_identity_forward_and_the_negated_scaled_gradient_backward() -> None:
    x = torch.randn(5, 3, requires_grad=True)
    w = torch.randn(5, 3)
    y = reverse_gradient(x, 0.7)
    assert torch.equal(y, x)
    (y * w).sum().backward()
    assert x.grad is not None
    torch.testing.assert_close(x.grad, -0.7 * w)
    x.grad = None
    (GradientReversal(2.0)(x) ** 2).sum().backward()
    torch.testing.assert_close(x.grad, -2.0 * 2 * x.detach())


def test_the_classifier_learns_to_tell_fixed_features_apart_while_the_features_get_the_reversed_gradient() -> None:
    torch.manual_seed(0)
    source, target = torch.randn(64, 8), torch.randn(64, 8) + torch.tensor([1.5] + [0.0] * 7)
    classifier = domain_classifier(8, hidden=16)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=1e-2)
    _, before = domain_loss(classifier, source, target)
    for _ in range(200):
        optimizer.zero_grad()
        loss, accuracy = domain_loss(classifier, source, target)
        loss.backward()
        optimizer.step()
    assert float(before) < 0.75 and float(accuracy) > 0.85
    # the features receive minus the gradient that lowers the domain loss: a step along it raises the loss
    features = torch.cat([source, target]).requires_grad_(True)
    loss, _ = domain_loss(classifier, features[:64], features[64:], scale=1.0)
    loss.backward()
    assert features.grad is not None
    with torch.no_grad():
        moved, _ = domain_loss(classifier, (features - 0.1 * features.grad)[:64], (features - 0.1 * features.grad)[64:])
    assert float(moved) > float(loss.detach())


def test_the_two_domains_weigh_equally_whatever_their_batch_sizes() -> None:
    classifier = domain_classifier(2)
    with torch.no_grad():
        for p in classifier.parameters():
            p.zero_()
        classifier[-1].bias.fill_(5.0)  # says "target" for everything
    _, accuracy = domain_loss(classifier, torch.zeros(10, 2), torch.zeros(30, 2))
    assert float(accuracy) == 0.5


def test_the_confusion_loss_keeps_a_gradient_where_the_reversed_one_vanishes() -> None:
    """A classifier sure of both domains: the reversed loss hands the features (almost) nothing, confusion does."""
    classifier = domain_classifier(1, hidden=4)
    with torch.no_grad():  # the target's features (+1) give the logit 80 ("target", sure); the source's (-1) give 0
        for p in classifier.parameters():
            p.zero_()
        classifier[0].weight.fill_(1.0)
        classifier[2].weight.fill_(1.0)
        classifier[4].weight.fill_(5.0)
    source, target = torch.full((4, 1), -1.0, requires_grad=True), torch.full((4, 1), 1.0, requires_grad=True)
    loss, accuracy = domain_loss(classifier, source, target)
    assert float(accuracy) == 1.0
    reversed_grad = torch.autograd.grad(loss, [target])[0]
    confused_grad = torch.autograd.grad(confusion_loss(classifier, source, target), [target])[0]
    assert reversed_grad.abs().max() < 1e-6 < 0.01 < confused_grad.abs().min()
    assert (confused_grad > 0).all()  # a step against it lowers the target's "target" logit, toward 50/50
