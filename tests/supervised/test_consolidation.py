"""EWC's and L2's quadratic penalty, the diagonal Fisher, replay's KL: against values computed by hand."""

from __future__ import annotations

import torch

from gymsuite.supervised.consolidation import diagonal_fisher, quadratic_penalty, replay_kl, stored_distribution


def test_penalty_is_zero_at_the_old_parameters_and_its_gradient_points_back() -> None:
    anchor = [torch.tensor([1.0, -2.0]), torch.tensor([[0.5]])]
    importance = [torch.tensor([3.0, 0.0]), torch.tensor([[2.0]])]
    at_anchor = [a.clone().requires_grad_(True) for a in anchor]
    assert float(quadratic_penalty(at_anchor, anchor, importance).detach()) == 0.0
    moved = [torch.tensor([2.0, 0.0], requires_grad=True), torch.tensor([[1.5]], requires_grad=True)]
    loss = quadratic_penalty(moved, anchor, importance)
    assert float(loss) == 0.5 * (3 * 1**2 + 0 * 2**2 + 2 * 1**2)
    loss.backward()
    grads = [p.grad for p in moved]
    assert grads[0].tolist() == [3.0, 0.0] and grads[1].tolist() == [[2.0]]  # b * (theta - theta_b)
    for p, a, g in zip(moved, anchor, grads, strict=True):  # a descent step moves towards the old parameters
        assert float(((p - 0.1 * g) - a).abs().sum()) <= float((p - a).abs().sum())


def test_diagonal_fisher_of_a_bernoulli_policy_matches_its_formula() -> None:
    # pi(a=1) = sigmoid(w): the score is (a - p), so E_a[score^2] = p (1 - p).
    w = torch.tensor([0.3], requires_grad=True)
    p = torch.sigmoid(w).item()
    draws = iter([1, 0] * 500)

    def log_prob(_: torch.Tensor) -> torch.Tensor:
        a = next(draws)
        q = torch.sigmoid(w)
        return torch.log(q if a == 1 else 1 - q)

    (fisher,) = diagonal_fisher([w], log_prob, torch.zeros(1000, 1))
    # with the actions alternating, half the squared scores are (1-p)^2 and half p^2
    assert abs(float(fisher) - ((1 - p) ** 2 + p**2) / 2) < 1e-5  # float32 sums of 1000 terms


def test_replay_kl_is_zero_for_the_same_policy_and_positive_otherwise() -> None:
    probs = torch.tensor([[0.2, 0.8], [0.5, 0.5]])
    old = stored_distribution({"probs": probs})
    assert float(replay_kl(old, torch.distributions.Categorical(probs=probs))) == 0.0
    other = torch.distributions.Categorical(probs=torch.tensor([[0.5, 0.5], [0.5, 0.5]]))
    expected = (0.2 * torch.log(torch.tensor(0.2 / 0.5)) + 0.8 * torch.log(torch.tensor(0.8 / 0.5))) / 2
    assert abs(float(replay_kl(old, other)) - float(expected)) < 1e-6


def test_magnitude_keep_takes_the_largest_free_share() -> None:
    from gymsuite.supervised.consolidation import magnitude_keep

    w = torch.tensor([[0.1, -5.0, 0.3], [2.0, -0.2, 4.0]])
    free = torch.tensor([[True, False, True], [True, True, True]])  # -5.0 belongs to an earlier task
    kept = magnitude_keep(w, free, 0.5)
    assert kept.tolist() == [[False, False, False], [True, False, True]]  # 2 of the 5 free (rounded): 4.0 and 2.0
    assert not magnitude_keep(w, free, 0.0).any() and magnitude_keep(w, free, 1.0).equal(free)
