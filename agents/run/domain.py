"""Domain-adversarial training (Ganin et al. 2016) during RL: ``--hyperparams domain_adversarial={...}``.

    gymsuite train --algo ppo --env gymsuite/PixelCartPole-v0 --hyperparams backbone=small_cnn \\
        'domain_adversarial={target: gymsuite/PixelCartPoleRecolored-v0, weight: 0.1}'

The agent learns from the **source** domain (its ``--env``) as usual; a domain classifier on its features
extractor's output learns to tell source observations from unlabelled **target**-domain ones, and the reversed
gradient (:mod:`gymsuite.supervised.domain`) trains the extractor to make them indistinguishable. The policy and
value heads never see a target observation, nor a target reward.

``target`` is either an env spec with the same observation space (``gymsuite/PixelCartPoleRecolored-v0``) or a
mapping of the run's own env's parameters (:mod:`gymsuite.envs.params`: ``{background: 0.55, pole: 0.1}``), set at
every reset of copies of the run's env.

**Where the target observations come from** (the choice documented): at the end of every rollout, ``n_envs``
target-domain env copies are reset (seeded by the run's seed and the rollout's index) and driven for ``steps``
steps each by the current policy's greedy action. Being a function of the weights and the rollout's index, the
collection needs no state of its own, so a resume is exact; the price is that target episodes are seen from their
start only (their first ``steps`` steps). The observations pass through the training env's normaliser, if any.

**The hook**: like the auxiliary loss (:mod:`gymsuite.agents.run.auxiliary`), :class:`DomainAdversary` adds its
gradient just before each optimiser step (:class:`~gymsuite.agents.run.callbacks.OptimizerStepHook`): ``batch_size``
source observations from the current rollout and as many target ones go through the extractor; the classifier takes
one Adam step on the domain loss, the extractor gets ``-lambda`` x that loss's gradient (clipped to ``max_grad_norm``
on its own) beside its RL gradient (``objective=confusion``: the classifier steps on the domain loss of fixed
features, and the extractor gets the gradient of Tzeng et al.'s confusion loss instead, which pulls the classifier's
answer toward 50/50 and does not vanish when the classifier is sure). Lambda is ``weight`` ramped up from 0 by Ganin
et al.'s schedule ``2 / (1 + exp(-10 p)) - 1`` over the share ``p`` of the budget done (``schedule=constant``:
``weight``). ``model.zip`` stays a plain SB3 model; the classifier, its optimiser and the minibatch generator are
saved beside it in ``domain.pt`` (and ``ckpt_<steps>_domain.pt``), plain tensors read with ``weights_only``. Logged:
``domain/accuracy`` (it drifts toward 0.5 as the features forget the domain), ``domain/loss``, ``domain/weight``
(lambda now) and ``domain/grad_ratio``: the norm of the reversed gradient added to the extractor over that of its RL
gradient in the same step. Keep it well below 1: on pixel CartPole a constant lambda of 0.3 held the reversed gradient
at the clip (0.5) while the RL gradient fell from 0.35 to 0.002 within 3,000 steps, and PPO stopped learning.

Shapes: B batch, O observation (channels first, as the policy sees it), F features, N env copies, T steps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.preprocessing import preprocess_obs

from gymsuite.agents.algorithms import registry
from gymsuite.agents.run.callbacks import OptimizerStepHook
from gymsuite.agents.saved.adapting import TargetDomain, check_image_encoder, target_env
from gymsuite.agents.saved.loading import LoadedAgent
from gymsuite.common.datafiles import DamagedFileError, read_torch
from gymsuite.common.errors import UserError
from gymsuite.common.files import write_buffered
from gymsuite.common.options import Rule, option, parse
from gymsuite.supervised.backbone import encoder_of
from gymsuite.supervised.domain import confusion_loss, domain_classifier, domain_loss

KEY = "domain_adversarial"
DOMAIN_FORMAT, DOMAIN_VERSION = "gymsuite-domain", 1
SEED_OFFSET = 50_000  # the target envs of rollout k are seeded seed + SEED_OFFSET + k * n_envs
EXAMPLE = "e.g. --hyperparams 'domain_adversarial={target: gymsuite/PixelCartPoleRecolored-v0, weight: 0.1}'"


@dataclass(frozen=True)
class DomainOptions:
    """``domain_adversarial``'s options (``target`` apart: an env spec or a mapping of parameters)."""

    weight: float = option(0.1, "lambda: the reversed gradient's weight in the features extractor's update",
                           Rule(float, low=0, finite=True))
    steps: int | None = option(None, "target steps per env copy collected each rollout (default: n_steps)",
                               Rule(int, low=1, nullable=True))
    batch_size: int = option(64, "observations of each domain per classifier step", Rule(int, low=1))
    learning_rate: float = option(1e-3, "Adam step size of the domain classifier",
                                  Rule(float, low=0, low_open=True, finite=True))
    hidden: int = option(64, "width of the classifier's two hidden layers", Rule(int, low=1))
    objective: str = option("reverse", "what the extractor learns: reverse (Ganin's reversed gradient of the domain "
                            "loss) or confusion (Tzeng's: make the classifier answer 50/50)",
                            Rule(str, choices=("reverse", "confusion")))
    schedule: str = option("ganin", "lambda over the run: ganin (weight x (2 / (1 + exp(-10 p)) - 1), p the share "
                           "of the budget done) or constant", Rule(str, choices=("ganin", "constant")))


@dataclass(frozen=True)
class Domain:
    """A run's ``domain_adversarial`` setting, parsed."""

    target: TargetDomain
    options: DomainOptions


def domain_options(hyper: Mapping[str, Any]) -> Domain | None:
    """The run's :class:`Domain`, or None when ``domain_adversarial`` is off; a :class:`UserError` for a bad value."""
    value = hyper.get(KEY)
    if value is None or value is False:
        return None
    if not isinstance(value, Mapping):
        raise UserError(f"{KEY} must be a mapping with a target, got {value!r}", EXAMPLE)
    rest = {k: v for k, v in value.items() if k != "target"}
    target = value.get("target")
    if isinstance(target, str) and target.strip():
        parsed = TargetDomain(env=target.strip())
    elif isinstance(target, Mapping) and target:
        parsed = TargetDomain(params=dict(target))
    else:
        raise UserError(f"{KEY} needs a target domain: an env spec or a mapping of env parameters, got "
                        f"{target!r}", EXAMPLE)
    return Domain(parsed, parse(DomainOptions, rest, f"{KEY} option"))


def check_options(algo: str, hyper: Mapping[str, Any]) -> Domain | None:
    """:func:`domain_options`, and a :class:`UserError` when ``algo`` or the run's kind cannot use it; before
    anything is built (the backbone and the target's spaces are checked when the model is:
    :meth:`DomainAdversary.create`)."""
    domain = domain_options(hyper)
    if domain is None:
        return None
    registry.check_rollout_hookable(KEY, algo, hyper)
    return domain


class DomainAdversary(OptimizerStepHook):
    """The domain classifier and its reversed gradient into the features extractor (module docstring).

    Args:
        model: the on-policy model whose extractor learns. domain: its setting. algo, env, hyper: the run's
        (to build the target envs like its own). seed: the run's seed (weights, minibatches, target envs).
    """

    def __init__(self, model: BaseAlgorithm, domain: Domain, algo: str, env: str, hyper: Mapping[str, Any],
                 seed: int = 0) -> None:
        super().__init__(model)
        check_image_encoder(model, KEY)
        self.options, self.seed = domain.options, seed
        self.space = model.policy.observation_space
        self.n_envs = int(model.n_envs)
        self.steps = domain.options.steps or int(getattr(model, "n_steps", 128))
        acting = LoadedAgent(None, algo, env, None, dict(hyper))
        self.venv = target_env(acting, domain.target, self.n_envs, seed + SEED_OFFSET, self.space, f"{KEY} target")
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.classifier = domain_classifier(int(encoder_of(model.policy).features_dim),
                                                domain.options.hidden).to(model.device)
        self.optimizer = torch.optim.Adam(self.classifier.parameters(), lr=domain.options.learning_rate)
        self.rng = np.random.default_rng(seed)
        self.target: np.ndarray | None = None  # (T*N, *O) of the last rollout's target collection

    @classmethod
    def create(cls, model: BaseAlgorithm, domain: Domain | None, algo: str, env: str, hyper: Mapping[str, Any],
               seed: int) -> DomainAdversary | None:
        """The adversary of ``domain`` (None when off); a :class:`UserError` for a non-image backbone or a target
        the env cannot take, before the run directory exists."""
        return cls(model, domain, algo, env, hyper, seed) if domain is not None else None

    def _on_rollout_end(self) -> None:
        rollout = self.n_envs * int(getattr(self._target, "n_steps", 1))
        self.target = self.collect(self._target.num_timesteps // rollout)

    def close(self) -> None:
        """Close the target envs."""
        self.venv.close()

    def collect(self, index: int) -> np.ndarray:
        """``steps`` x ``n_envs`` target observations ``(T*N, *O)``: the greedy policy from freshly seeded resets."""
        self.venv.seed(self.seed + SEED_OFFSET + index * self.n_envs)
        obs = self.venv.reset()
        norm = self._target.get_vec_normalize_env()
        seen: list[np.ndarray] = []
        for _ in range(self.steps):
            assert isinstance(obs, np.ndarray)  # an image (checked when built)
            x = norm.normalize_obs(obs) if norm is not None else obs
            assert isinstance(x, np.ndarray)
            seen.append(x)
            actions, _ = self._target.policy.predict(x, deterministic=True)
            obs, *_ = self.venv.step(actions)
        return np.concatenate(seen)

    def weight(self) -> float:
        """Lambda now: ``weight``, ramped up from 0 by Ganin et al.'s schedule unless ``schedule=constant`` (the
        classifier is still random early on, and its reversed gradient would only add noise to the features)."""
        if self.options.schedule == "constant":
            return self.options.weight
        total = max(int(getattr(self._target, "_total_timesteps", 0) or 0), 1)
        done = min(self._target.num_timesteps / total, 1.0)
        return self.options.weight * (2 / (1 + math.exp(-10 * done)) - 1)

    def _tensor(self, obs: np.ndarray) -> torch.Tensor:
        tensor = preprocess_obs(torch.as_tensor(obs, device=self._target.device), self.space,
                                normalize_images=self._target.policy.normalize_images)
        assert isinstance(tensor, torch.Tensor)
        return tensor.float()

    def step(self) -> None:
        """One classifier step and the extractor's reversed gradient, on a minibatch of each domain."""
        if self.target is None:
            return
        buffer = getattr(self._target, "rollout_buffer", None)
        assert isinstance(buffer, RolloutBuffer)
        source = buffer.observations.reshape(-1, *(self.space.shape or ()))  # (T*N, *O) as the policy saw them
        size = self.options.batch_size
        xs = self._tensor(source[self.rng.integers(0, len(source), size)])
        xt = self._tensor(self.target[self.rng.integers(0, len(self.target), size)])
        encoder = encoder_of(self._target.policy)
        trained = [p for p in encoder.parameters() if p.requires_grad]
        classifier = list(self.classifier.parameters())
        weight = self.weight()
        with torch.enable_grad():
            features = encoder(torch.cat([xs, xt]))  # (2B, F)
            if self.options.objective == "reverse":  # one backward: the classifier's gradient, the features' reversed
                loss, accuracy = domain_loss(self.classifier, features[:size], features[size:], weight)
                grads = list(torch.autograd.grad(loss, [*trained, *classifier], allow_unused=True))
            else:  # the classifier on fixed features; the features toward its 50/50 answer
                loss, accuracy = domain_loss(self.classifier, features[:size].detach(), features[size:].detach())
                confusion = weight * confusion_loss(self.classifier, features[:size], features[size:])
                grads = [*torch.autograd.grad(confusion, trained, allow_unused=True),
                         *torch.autograd.grad(loss, classifier)]
        encoder_grads = [torch.zeros_like(p) if g is None else g for p, g in zip(trained, grads, strict=False)]
        max_norm = getattr(self._target, "max_grad_norm", None)
        if encoder_grads and max_norm:
            norm = _norm(encoder_grads)
            encoder_grads = [g * min(1.0, float(max_norm) / (norm + 1e-6)) for g in encoder_grads]
        if weight > 0:
            rl_norm = _norm([p.grad for p in trained if p.grad is not None])  # the RL gradient of this step
            self._target.logger.record_mean("domain/grad_ratio", _norm(encoder_grads) / max(rl_norm, 1e-12))
            for param, grad in zip(trained, encoder_grads, strict=True):
                param.grad = grad if param.grad is None else param.grad + grad
        for param, grad in zip(classifier, grads[len(trained):], strict=True):
            param.grad = grad
        self.optimizer.step()
        self._target.logger.record_mean("domain/loss", float(loss.detach()))
        self._target.logger.record_mean("domain/accuracy", float(accuracy))
        self._target.logger.record("domain/weight", weight)

    def accuracy(self, source: np.ndarray, target: np.ndarray) -> float:
        """The classifier's accuracy on observations ``(B, *O)`` of each domain (as the policy sees them)."""
        with torch.no_grad():
            encoder = encoder_of(self._target.policy)
            _, acc = domain_loss(self.classifier, encoder(self._tensor(source)), encoder(self._tensor(target)))
        return float(acc)

    def save(self, path: Path) -> None:
        """The classifier's and its optimiser's state dicts and the minibatch generator's state, as plain data."""
        state = {"format": DOMAIN_FORMAT, "version": DOMAIN_VERSION, "classifier": self.classifier.state_dict(),
                 "optimizer": self.optimizer.state_dict(), "rng": self.rng.bit_generator.state}
        write_buffered(path, lambda f: torch.save(state, f))

    def load(self, path: Path) -> None:
        """Restore :meth:`save`'s file (``weights_only``: no unpickling).

        Raises:
            DamagedFileError: a truncated, garbage or foreign file, or one of another classifier's shape.
        """
        what, fix = "the domain classifier of this run", "delete it to resume with a fresh classifier"
        data = read_torch(path, what, fix, map_location=self._target.device)
        if not isinstance(data, dict) or data.get("format") != DOMAIN_FORMAT:
            raise DamagedFileError(path, what, "it is not gymsuite's domain-classifier format", fix)
        try:
            self.classifier.load_state_dict(data["classifier"])
            self.optimizer.load_state_dict(data["optimizer"])
            self.rng.bit_generator.state = data["rng"]
        except (KeyError, ValueError, TypeError, RuntimeError) as err:
            raise DamagedFileError(path, what, f"it does not fit this run's classifier ({err})", fix) from err


def _norm(tensors: list[torch.Tensor]) -> float:
    """The L2 norm of ``tensors`` taken as one vector (0 for none)."""
    if not tensors:
        return 0.0
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t) for t in tensors])))


__all__ = ["KEY", "Domain", "DomainAdversary", "DomainOptions", "check_options", "domain_options"]
