"""A model as an attack sees it: its :class:`~gymsuite.supervised.adversarial.Victim`, and ``eps`` in the env's units.

The attack perturbs the observation the env returns, within ``eps`` per feature (pixel units, 0-255, for images).
A run with ``normalize`` shows its model ``z = clip((x - mu) / sigma, -c, c)`` (``VecNormalize``, ``sigma =
sqrt(var + 1e-8)``); the ball of radius ``eps`` around the raw ``x`` is, through that affine map, the box of
half-widths ``eps / sigma_i`` around ``z``, and the raw bounds map to ``[(low - mu) / sigma, (high - mu) /
sigma]`` clipped to ``[-c, c]``. So the attack runs on ``z`` with that per-feature radius (:attr:`AttackView.scale`):
the same perturbations as on ``x`` with the gradient through the normaliser (a sign step scales alike), without
inverting a clip.

Shapes: B batch, O observation (channels first for images, as SB3's policies see them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from gymnasium import spaces
from sb3_contrib import MaskablePPO, RecurrentPPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.distributions import (
    BernoulliDistribution,
    CategoricalDistribution,
    DiagGaussianDistribution,
    StateDependentNoiseDistribution,
)
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import VecNormalize
from stable_baselines3.dqn.policies import DQNPolicy
from torch.distributions import Categorical, Distribution, Independent

from gymsuite.common.errors import UserError
from gymsuite.supervised.adversarial import Bounds, Radius, Victim


@dataclass(frozen=True)
class AttackView:
    """A model's :class:`Victim` on observations as it sees them, and what maps ``eps`` there.

    Attributes:
        victim: the model's action distribution (and value, for an actor-critic or DQN's max Q).
        bounds: where its observations may lie, in its own view (``integer`` for pixels).
        scale: ``(*O)`` ``1 / sigma`` of the normaliser, or None (none: the env's units are the model's).
        mean: ``(*O)`` the normaliser's ``mu`` (None without one). clip: its ``c``.
        device: the model's torch device.
    """

    victim: Victim
    bounds: Bounds
    scale: np.ndarray | None = None
    mean: np.ndarray | None = None
    clip: float = np.inf
    device: torch.device = torch.device("cpu")

    def radius(self, eps: float) -> Radius:
        """``eps`` in the env's units as the per-feature radius in the model's view."""
        if self.scale is None:
            return eps
        return torch.as_tensor(eps * self.scale, dtype=torch.float32, device=self.device)

    def to_raw(self, z: np.ndarray) -> np.ndarray:
        """Observations ``(B, *O)`` in the model's view back in the env's units (exact inside the clip)."""
        return z if self.scale is None or self.mean is None else z / self.scale + self.mean

    def from_raw(self, x: np.ndarray) -> np.ndarray:
        """Observations ``(B, *O)`` in the env's units as the model sees them."""
        if self.scale is None or self.mean is None:
            return x
        return np.clip((x - self.mean) * self.scale, -self.clip, self.clip).astype(np.float32)

    def tensor(self, x: np.ndarray) -> torch.Tensor:
        """A batch ``(B, *O)`` as float32 on the model's device."""
        return torch.as_tensor(np.asarray(x), device=self.device).float()


def check_observations(space: spaces.Space, what: str = "this run") -> spaces.Box:
    """``space`` when it is a ``Box`` an attack can perturb; else a :class:`UserError` naming why not."""
    if isinstance(space, spaces.Discrete | spaces.MultiDiscrete | spaces.MultiBinary):
        raise UserError(f"{what} has discrete observations ({space}): an L-infinity perturbation of size eps has "
                        "no meaning for a state index or a set of flags",
                        "attack a run whose observations are continuous features or pixels (a Box space)")
    if not isinstance(space, spaces.Box):
        raise UserError(f"{what} has {type(space).__name__} observations ({space}); attacks perturb one Box "
                        "observation", "attack a run whose observations are one array (vector or image)")
    return space


def model_victim(model: BaseAlgorithm) -> Victim:
    """The :class:`Victim` of an SB3 actor-critic (PPO, A2C, the policy gradient) or DQN model (the softmax of its
    Q-values as the distribution, its largest Q-value as the value), on observations as the model sees them."""
    policy = model.policy
    if isinstance(model, RecurrentPPO | MaskablePPO):
        kind = "recurrent (backbone=lstm)" if isinstance(model, RecurrentPPO) else "masked (self-play)"
        raise UserError(f"attacks do not support {kind} policies: the attacked action depends on more than the "
                        "observation", "attack a feed-forward run (ppo, a2c, pg, dqn)")
    if isinstance(policy, DQNPolicy):
        def q(x: torch.Tensor) -> torch.Tensor:
            return policy.q_net(x)

        return Victim(lambda x: Categorical(logits=q(x), validate_args=False), lambda x: q(x).max(dim=-1).values)
    if not isinstance(policy, ActorCriticPolicy):
        raise UserError(f"attacks do not support {type(policy).__name__} policies",
                        "attack a ppo, a2c, pg or dqn run")
    gaussian = DiagGaussianDistribution | StateDependentNoiseDistribution  # gSDE: a Normal too (Pendulum's defaults)
    if not isinstance(policy.action_dist, CategoricalDistribution | gaussian | BernoulliDistribution) or getattr(
            policy.action_dist, "bijector", None) is not None:
        raise UserError(f"attacks do not support the {type(policy.action_dist).__name__} action distribution",
                        "attack a run with Discrete, Box or MultiBinary actions")

    fast = isinstance(policy.action_dist, CategoricalDistribution) and (
        type(policy).get_distribution is ActorCriticPolicy.get_distribution)

    def dist(x: torch.Tensor) -> Distribution:
        if fast:
            # SB3's get_distribution, without its wrapper and argument checks: an attack calls this ~20 times per
            # env step, where they took over half the time
            latent = policy.mlp_extractor.forward_actor(BasePolicy.extract_features(policy, x,
                                                                                    policy.pi_features_extractor))
            return Categorical(logits=policy.action_net(latent), validate_args=False)
        inner = policy.get_distribution(x).distribution
        assert isinstance(inner, Distribution)
        return inner if isinstance(inner, Categorical) else Independent(inner, 1)  # log_prob (B,), not (B, A)

    return Victim(dist, lambda x: policy.predict_values(x).squeeze(-1))


def attack_view(model: BaseAlgorithm, norm: VecNormalize | None, what: str = "this run") -> AttackView:
    """``model``'s :class:`AttackView`, with the statistics of ``norm`` (its frozen or training ``VecNormalize``).

    Raises:
        UserError: discrete or dict observations, a recurrent or masked policy, an unsupported action distribution.
    """
    space = check_observations(model.observation_space, what)
    victim = model_victim(model)
    low, high = space.low.astype(np.float64), space.high.astype(np.float64)
    integer = np.issubdtype(space.dtype, np.integer)
    scale = mean = None
    clip = np.inf
    if norm is not None and norm.norm_obs:
        if not isinstance(norm.obs_rms, RunningMeanStd):
            raise UserError(f"{what} normalises a dict observation; attacks perturb one Box observation")
        sigma = np.sqrt(norm.obs_rms.var + norm.epsilon)
        scale, mean, clip = (1.0 / sigma).astype(np.float32), norm.obs_rms.mean.astype(np.float32), norm.clip_obs
        low = np.clip((low - mean) / sigma, -clip, clip)
        high = np.clip((high - mean) / sigma, -clip, clip)
        integer = False
    device = model.device
    bounds = Bounds(torch.as_tensor(low, dtype=torch.float32, device=device),
                    torch.as_tensor(high, dtype=torch.float32, device=device), integer)
    return AttackView(victim, bounds, scale, mean, float(clip), device)
