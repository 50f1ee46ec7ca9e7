"""Proactive defences during training: adversarial rollouts and SA-PPO's smoothness regulariser.

Hyperparameters (run keys, ``--hyperparams KEY={...}``):

* ``adversarial={attack: pgd, eps: E, fraction: p, steps: k}`` (:class:`AdversarialTrainingOptions`): while the
  rollout is collected, each observation is perturbed with probability ``p`` by the attack (on the current policy)
  before the agent acts on it, so the rollout, its log-probabilities, values and the update all see the perturbed
  observation (the course's adversarial training). :class:`AdversarialRollouts` rewrites the ``new_obs`` array of SB3's
  ``collect_rollouts`` in place in ``on_step``, the array that becomes ``_last_obs``, the next step's input.
* ``smooth={eps: E, coef: c, steps: k}`` (:class:`SmoothOptions`): SA-PPO's regulariser (Zhang et al. 2020)
  ``c * mean KL(pi(. | s) || pi(. | s + delta))``, ``delta`` found by ``k`` PGD steps of the MAD attack in the
  ball of radius ``E``. Like ``aux`` (:mod:`gymsuite.agents.run.auxiliary`), :class:`SmoothnessRegularizer` hooks
  the policy optimiser's step: just before each step of SB3's ``train()``, its gradient (clipped to
  ``max_grad_norm`` on its own) is added to the RL gradient. It reaches the actor only: the critic's parameters
  do not enter ``pi``.

Both take ``warmup``: ``eps`` grows linearly from 0 over that share of the budget (SA-PPO's schedule), so the agent
learns the task before it is attacked. ``eps`` is in the env's units through the run's current normaliser statistics
(:mod:`gymsuite.agents.saved.victims`). Both need an on-policy actor-critic trained by SB3's ``learn`` (ppo, a2c,
pg) on a single-agent, feed-forward run.

Shapes: N envs, B minibatch, O observation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback

from gymsuite.agents.algorithms import registry
from gymsuite.agents.run.callbacks import OptimizerStepHook
from gymsuite.agents.saved.victims import AttackView, attack_view
from gymsuite.common.errors import UserError, closest_hint
from gymsuite.common.options import Rule, option, parse
from gymsuite.supervised.adversarial import ATTACKS, craft, smoothness_loss

KEYS = ("adversarial", "smooth")


@dataclass(frozen=True)
class AdversarialTrainingOptions:
    """``adversarial``: perturbed observations in the rollout."""

    attack: str = option("pgd", f"the attack: {', '.join(ATTACKS)}", Rule(str, choices=ATTACKS))
    eps: float = option(0.1, "perturbation size in observation units (pixels: 0-255)", Rule(float, low=0, finite=True))
    fraction: float = option(0.5, "share of the rollout's observations perturbed", Rule(float, low=0, high=1))
    steps: int = option(10, "PGD steps (pgd, critic, mad)", Rule(int, low=1))
    warmup: float = option(0.0, "share of the budget over which eps grows linearly from 0 (SA-PPO's schedule)",
                           Rule(float, low=0, high=1))


@dataclass(frozen=True)
class SmoothOptions:
    """``smooth``: SA-PPO's smoothness regulariser."""

    eps: float = option(0.1, "radius of the perturbation PGD looks for, in observation units",
                        Rule(float, low=0, low_open=True, finite=True))
    coef: float = option(0.3, "weight of the KL regulariser in the policy's gradient", Rule(float, low=0, finite=True))
    steps: int = option(5, "PGD steps of the MAD attack that finds s + delta", Rule(int, low=1))
    batch_size: int | None = option(None, "observations per regulariser step (default: the algorithm's batch_size)",
                                    Rule(int, low=1, nullable=True))
    warmup: float = option(0.0, "share of the budget over which eps grows linearly from 0 (SA-PPO's schedule)",
                           Rule(float, low=0, high=1))


@dataclass(frozen=True)
class RobustOptions:
    """The run's proactive defences (None: off)."""

    adversarial: AdversarialTrainingOptions | None = None
    smooth: SmoothOptions | None = None


def _one(key: str, value: Any, cls: type) -> Any:
    if value is None or value is False:
        return None
    if value is True:
        value = {}
    if not isinstance(value, Mapping):
        raise UserError(f"{key} must be a mapping, got {value!r}", f"e.g. --hyperparams '{key}={{eps: 0.1}}'")
    if key == "adversarial" and isinstance(value.get("attack"), str) and value["attack"] not in ATTACKS:
        raise UserError(f"unknown attack adversarial.attack={value['attack']!r}",
                        closest_hint(value["attack"], ATTACKS, "attacks"))
    return parse(cls, value, f"{key} option")


def robust_options(hyper: Mapping[str, Any]) -> RobustOptions:
    """The :class:`RobustOptions` of a run's hyperparameters; a :class:`UserError` for a bad value."""
    return RobustOptions(_one("adversarial", hyper.get("adversarial"), AdversarialTrainingOptions),
                         _one("smooth", hyper.get("smooth"), SmoothOptions))


def check_options(algo: str, hyper: Mapping[str, Any]) -> RobustOptions:
    """:func:`robust_options`, and a :class:`UserError` when ``algo`` (or an lstm or multi-agent run) cannot use
    them; before anything is built."""
    opts = robust_options(hyper)
    used = [k for k in KEYS if getattr(opts, k) is not None]
    if not used:
        return opts
    registry.check_rollout_hookable(" and ".join(used), algo, hyper)
    return opts


def _view(model: BaseAlgorithm) -> AttackView:
    return attack_view(model, model.get_vec_normalize_env(), "this run")


def scheduled(eps: float, warmup: float, model: BaseAlgorithm) -> float:
    """``eps`` grown linearly from 0 over the first ``warmup`` share of the run's budget (``eps`` once past it)."""
    total = max(int(getattr(model, "_total_timesteps", 0) or 0), 1)
    done = model.num_timesteps / total
    return eps if warmup <= 0 or done >= warmup else eps * done / warmup


class AdversarialRollouts(BaseCallback):
    """Perturbs a ``fraction`` of the rollout's observations before the agent acts on them (module docstring)."""

    def __init__(self, model: BaseAlgorithm, options: AdversarialTrainingOptions, seed: int = 0) -> None:
        super().__init__()
        self.options, self.rng = options, np.random.default_rng(seed)
        self.generator = torch.Generator().manual_seed(seed)
        self.view = _view(model)  # refuses what cannot be attacked, before the run starts
        self.perturbed = 0

    def _on_rollout_start(self) -> None:
        self.view = _view(self.model)  # the normaliser's statistics of this rollout

    def _on_step(self) -> bool:
        obs = self.locals.get("new_obs")
        eps = scheduled(self.options.eps, self.options.warmup, self.model)
        if not isinstance(obs, np.ndarray) or eps == 0:
            return True
        rows = np.flatnonzero(self.rng.random(len(obs)) < self.options.fraction)
        if len(rows):
            view = self.view
            x = craft(self.options.attack, view.victim, view.tensor(obs[rows]), view.radius(eps),
                      view.bounds, self.options.steps, generator=self.generator)
            obs[rows] = x.detach().cpu().numpy().astype(obs.dtype)  # in place: it becomes the next _last_obs
            self.perturbed += len(rows)
        self.logger.record("robust/perturbed_observations", self.perturbed)
        return True


class SmoothnessRegularizer(OptimizerStepHook):
    """Adds ``coef`` x SA-PPO's smoothness loss to the policy's gradient before each optimiser step."""

    def __init__(self, model: BaseAlgorithm, options: SmoothOptions, seed: int = 0) -> None:
        super().__init__(model)
        self.options = options
        self.batch_size = options.batch_size or int(getattr(model, "batch_size", 64) or 64)
        self.rng = np.random.default_rng(seed)
        self.generator = torch.Generator().manual_seed(seed)
        self.view = _view(model)

    def _on_rollout_end(self) -> None:
        self.view = _view(self._target)

    def loss(self, obs: torch.Tensor) -> torch.Tensor:
        """The regulariser on observations ``(B, *O)`` as the policy sees them (a scalar, >= 0)."""
        eps = scheduled(self.options.eps, self.options.warmup, self._target)
        return smoothness_loss(self.view.victim, obs, self.view.radius(eps), self.view.bounds, self.options.steps,
                               self.generator)

    def step(self) -> None:
        """``coef`` x the loss's gradient into the actor's parameters (clipped to ``max_grad_norm`` on its own)."""
        buffer = getattr(self._target, "rollout_buffer", None)
        assert isinstance(buffer, RolloutBuffer)
        space = self._target.policy.observation_space
        flat = buffer.observations.reshape(-1, *(space.shape or ()))  # (T*N, *O) as the policy saw them
        obs = self.view.tensor(flat[self.rng.integers(0, len(flat), self.batch_size)])
        if scheduled(self.options.eps, self.options.warmup, self._target) == 0:
            return
        params = [p for p in self._target.policy.parameters() if p.requires_grad]
        with torch.enable_grad():
            loss = self.loss(obs)
            grads = torch.autograd.grad(self.options.coef * loss, params, allow_unused=True)
        pairs = [(p, g) for p, g in zip(params, grads, strict=True) if g is not None]
        max_norm = getattr(self._target, "max_grad_norm", None)
        if pairs and max_norm:
            norm = float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for _, g in pairs])))
            pairs = [(p, g * min(1.0, float(max_norm) / (norm + 1e-6))) for p, g in pairs]
        for param, grad in pairs:
            param.grad = grad if param.grad is None else param.grad + grad
        self._target.logger.record_mean("robust/smooth_kl", float(loss.detach()))


def create(model: BaseAlgorithm, options: RobustOptions, seed: int) -> list[BaseCallback]:
    """The callbacks of ``options`` for ``model`` (none when both are off); a :class:`UserError` when its
    observations cannot be perturbed (discrete, dict), before the run starts."""
    out: list[BaseCallback] = []
    if options.adversarial is not None:
        out.append(AdversarialRollouts(model, options.adversarial, seed))
    if options.smooth is not None:
        out.append(SmoothnessRegularizer(model, options.smooth, seed))
    return out
