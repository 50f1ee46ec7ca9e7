"""Reptile's and first-order MAML's outer updates against their formulas on a toy problem."""

from __future__ import annotations

import pytest
import torch

from gymsuite.supervised.metalearning import fomaml_step, reptile_step


def test_reptile_step_interpolates_toward_the_mean_of_the_adapted_weights() -> None:
    phi = {"w": torch.tensor([0.0, 2.0]), "b": torch.tensor([1.0]), "steps": torch.tensor(3)}
    adapted = [{"w": torch.tensor([2.0, 2.0]), "b": torch.tensor([3.0]), "steps": torch.tensor(9)},
               {"w": torch.tensor([4.0, -2.0]), "b": torch.tensor([1.0]), "steps": torch.tensor(9)}]
    new = reptile_step(phi, adapted, 0.5)
    assert torch.allclose(new["w"], torch.tensor([1.5, 1.0]))  # 0 + 0.5 * (3 - 0), 2 + 0.5 * (0 - 2)
    assert torch.allclose(new["b"], torch.tensor([1.5]))  # 1 + 0.5 * (2 - 1)
    assert int(new["steps"]) == 3 and torch.equal(phi["w"], torch.tensor([0.0, 2.0]))  # counters, inputs unchanged
    assert torch.allclose(reptile_step(phi, adapted, 1.0)["w"], torch.tensor([3.0, 0.0]))  # epsilon 1: the mean


def test_reptile_on_quadratic_tasks_moves_the_initialisation_to_their_centre() -> None:
    """Tasks ``L_c(x) = |x - c|^2``: one gradient step from phi adapts to ``phi + 2 a (c - phi)``, so Reptile's
    fixed point is the mean of the centres, the initialisation closest to every task."""
    centres = [torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 4.0]), torch.tensor([3.0, 2.0])]
    phi = {"x": torch.zeros(2)}
    for _ in range(200):
        adapted = [{"x": phi["x"] + 2 * 0.1 * (c - phi["x"])} for c in centres]
        phi = reptile_step(phi, adapted, 0.5)
    assert torch.allclose(phi["x"], torch.stack(centres).mean(0), atol=1e-4)


def test_fomaml_step_applies_the_mean_query_gradient_at_the_adapted_weights() -> None:
    phi = {"w": torch.tensor([1.0, -1.0])}
    centres = [torch.tensor([2.0, 0.0]), torch.tensor([0.0, 2.0])]
    grads = []
    for c in centres:  # inner step on L_c = |x - c|^2 with lr 0.25, then the query gradient at theta
        theta = (phi["w"] - 0.25 * 2 * (phi["w"] - c)).requires_grad_()
        ((theta - c) ** 2).sum().backward()
        grads.append({"w": theta.grad})
    new = fomaml_step(phi, grads, 0.1)
    expected = phi["w"] - 0.1 * torch.stack([2 * (0.5 * phi["w"] + 0.5 * c - c) for c in centres]).mean(0)
    assert torch.allclose(new["w"], expected)


def test_mismatched_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="shape"):
        reptile_step({"w": torch.zeros(2)}, [{"w": torch.zeros(3)}], 1.0)
    with pytest.raises(ValueError, match="at least one task"):
        fomaml_step({"w": torch.zeros(2)}, [], 1.0)
