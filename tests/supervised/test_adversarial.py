"""Attacks on tensors (supervised/adversarial.py) and the passive defences' filters (supervised/defences.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.distributions import Categorical

from gymsuite.supervised.adversarial import (
    Bounds,
    Victim,
    action_loss,
    craft,
    fgsm,
    gradient,
    kl_loss,
    pgd,
    smoothness_loss,
    value_loss,
)
from gymsuite.supervised.defences import bit_depth, median_filter, vote


def _victim(seed: int = 0) -> Victim:
    torch.manual_seed(seed)
    actor = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3)).double()
    critic = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1)).double()
    return Victim(lambda x: Categorical(logits=actor(x)), lambda x: critic(x).squeeze(-1))


def _unbounded(shape: tuple[int, ...] = (4,)) -> Bounds:
    return Bounds(torch.full(shape, -torch.inf, dtype=torch.float64), torch.full(shape, torch.inf, dtype=torch.float64))


@pytest.mark.parametrize("make_loss", [action_loss, value_loss])
def test_gradient_matches_finite_differences(make_loss):
    victim = _victim()
    x0 = torch.randn(3, 4, dtype=torch.float64)
    loss = make_loss(victim, x0)
    grad = gradient(loss, x0)
    h = 1e-6
    for i in range(4):
        step = torch.zeros_like(x0)
        step[:, i] = h
        numeric = (loss(x0 + step) - loss(x0 - step)) / (2 * h)  # (B,): each sample's loss depends on its own x
        assert torch.allclose(grad[:, i], numeric, atol=1e-6)


def test_kl_gradient_matches_finite_differences_away_from_x0():
    victim = _victim(1)
    x0 = torch.randn(2, 4, dtype=torch.float64)
    loss = kl_loss(victim, x0)
    x = x0 + 0.3 * torch.randn_like(x0)
    grad, h = gradient(loss, x), 1e-6
    for i in range(4):
        step = torch.zeros_like(x)
        step[:, i] = h
        assert torch.allclose(grad[:, i], (loss(x + step) - loss(x - step)) / (2 * h), atol=1e-6)
    assert torch.allclose(loss(x0), torch.zeros(2, dtype=torch.float64), atol=1e-12)  # KL 0 at the clean point


def test_pgd_stays_in_the_ball_and_the_bounds():
    victim = _victim()
    low, high = torch.tensor([-1.0, -0.5, -1.0, -2.0], dtype=torch.float64), torch.ones(4, dtype=torch.float64)
    x0 = low + (high - low) * torch.rand(64, 4, dtype=torch.float64)
    x0[:8] = low  # on the bounds
    bounds = Bounds(low, high)
    eps = torch.tensor([0.3, 0.1, 0.5, 0.05], dtype=torch.float64)  # a per-feature radius (a normaliser's)
    for attack in ("random", "fgsm", "pgd", "critic", "mad"):
        x = craft(attack, victim, x0.clone(), eps, bounds, steps=7, generator=torch.Generator().manual_seed(0))
        assert ((x - x0).abs() <= eps + 1e-9).all(), attack
        assert (x >= low - 1e-6).all() and (x <= high + 1e-6).all(), attack


def test_pixel_attacks_stay_whole_numbers_in_range():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(2 * 5 * 5, 2))
    victim = Victim(lambda x: Categorical(logits=net(x / 255.0)))
    x0 = torch.randint(0, 256, (8, 2, 5, 5)).float()
    x0[:, 0, 0, 0], x0[:, 0, 0, 1] = 0, 255  # at the range's ends
    bounds = Bounds(torch.zeros(2, 5, 5), torch.full((2, 5, 5), 255.0), integer=True)
    for attack in ("random", "fgsm", "pgd", "mad"):
        x = craft(attack, victim, x0, 4.7, bounds, steps=5, generator=torch.Generator().manual_seed(1))
        assert torch.equal(x, torch.round(x)), attack
        assert (x - x0).abs().max() <= 4 and x.min() >= 0 and x.max() <= 255, attack
        assert (x != x0).any(), attack


def test_fgsm_and_pgd_lower_the_greedy_actions_probability(linear_expert):
    """On a CartPole controller (the push-toward-the-lean expert, which scores 500) at states near upright."""
    model = linear_expert("CartPole-v1", [[0, 0, -50, -25], [0, 0, 50, 25]])
    policy = model.policy
    victim = Victim(lambda x: policy.get_distribution(x).distribution)
    x0 = torch.as_tensor(np.random.default_rng(0).uniform(-0.05, 0.05, (32, 4)), dtype=torch.float32)
    with torch.no_grad():
        dist0 = victim.dist(x0)
        action = dist0.mode
        p0 = dist0.probs.gather(1, action[:, None]).squeeze(1)
    bounds = _unbounded()
    bounds = Bounds(bounds.low.float(), bounds.high.float())
    for x in (fgsm(action_loss(victim, x0), x0, 0.05, bounds), pgd(action_loss(victim, x0), x0, 0.05, bounds)):
        with torch.no_grad():
            p = victim.dist(x).probs.gather(1, action[:, None]).squeeze(1)
        assert (p < p0).all() and (p < 0.5).float().mean() > 0.5  # lower everywhere, flipped mostly


def test_smoothness_loss_is_non_negative_and_reaches_only_the_actor(linear_expert):
    from stable_baselines3 import PPO

    from gymsuite.envs.factory import make_env

    venv = make_env("CartPole-v1", n_envs=1, seed=0)
    model = PPO("MlpPolicy", venv, policy_kwargs={"net_arch": {"pi": [8], "vf": [8]}}, device="cpu", seed=0)
    venv.close()
    policy = model.policy
    victim = Victim(lambda x: policy.get_distribution(x).distribution, lambda x: policy.predict_values(x).squeeze(-1))
    x0 = torch.randn(16, 4)
    loss = smoothness_loss(victim, x0, 0.2, Bounds(torch.full((4,), -torch.inf), torch.full((4,), torch.inf)), 3,
                           torch.Generator().manual_seed(0))
    assert loss.dim() == 0 and float(loss.detach()) >= 0
    policy.zero_grad(set_to_none=True)
    loss.backward()
    actor = [*policy.mlp_extractor.policy_net.parameters(), *policy.action_net.parameters()]
    critic = [*policy.mlp_extractor.value_net.parameters(), *policy.value_net.parameters()]
    assert all(p.grad is not None for p in actor) and any(float(p.grad.abs().sum()) > 0 for p in actor)
    assert all(p.grad is None for p in critic)


def test_bit_depth_median_and_vote():
    x = np.array([[[[0, 3, 4, 255]]]], dtype=np.uint8)  # (1, 1, 1, 4)
    assert bit_depth(x, 6).tolist() == [[[[2, 2, 6, 254]]]] and bit_depth(x, 8).tolist() == x.tolist()
    img = np.zeros((1, 1, 5, 5), dtype=np.uint8)
    img[0, 0, 2, 2] = 255  # one salt pixel: the median removes it
    assert median_filter(img, 3).max() == 0 and median_filter(img, 1).max() == 255
    assert vote(np.array([[0, 1], [1, 1], [0, 2]])).tolist() == [0, 1]
    assert vote(np.array([[[0.0]], [[1.0]], [[5.0]]])).tolist() == [[1.0]]
