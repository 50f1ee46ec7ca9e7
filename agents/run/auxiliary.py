"""Auxiliary auto-encoder losses during RL, and starting a run from a pre-trained encoder.

Hyperparameters (``--hyperparams key=value``; run keys, not SB3 arguments, see :class:`AuxOptions`):
``aux`` (``recon`` | ``denoise``), ``aux_coef``, ``aux_kwargs`` (:class:`AuxKwargs`),
``backbone_init`` (an encoder file of ``gymsuite pretrain``), ``freeze_backbone``.

**Which losses train what** (the one rule): the encoder (the policy's features extractor:
the actor-critic's shared one -- with ``share_features_extractor=False``, the actor's -- or
DQN's online Q-network's) is trained by its RL loss plus ``aux_coef`` x the auxiliary loss,
summed into the same gradient and the same optimiser step; the decoder only by the auxiliary
loss, with its own Adam; DQN's target encoder only by copying (SB3's target update). A frozen
encoder (``freeze_backbone=true``) is trained by neither: only the decoder learns.

How (SB3 has no hook for an extra loss; users subclass ``train()`` by hand): :class:`AuxTrainer`
registers a pre-step hook on the policy's optimiser (:class:`~gymsuite.agents.run.callbacks.OptimizerStepHook`).
Just before each optimiser step of SB3's ``train()`` -- after the RL loss's ``backward`` and its gradient
clipping -- it draws a minibatch
of observations, adds the gradient of ``aux_coef * loss`` (clipped to ``max_grad_norm`` on its own)
to the encoder's RL gradient and steps the decoder. The minibatch comes from the current rollout
for on-policy algorithms (ppo, a2c, pg) and from the replay buffer for off-policy ones (dqn), so
the loss runs at every gradient step. Losses are logged as ``aux/<kind>_loss`` and
``aux/latent_l2``. The decoder and its optimiser live outside ``model.zip`` (which plain SB3
still loads) in ``aux.pt`` and each checkpoint's ``ckpt_<steps>_aux.pt``. With ``augment=shift``
the backbone shifts its own input (in training mode) and the decoder still rebuilds the unshifted
observation.

Shapes: B batch, O observation, F features.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.buffers import ReplayBuffer, RolloutBuffer
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.preprocessing import preprocess_obs

from gymsuite.agents.algorithms import registry
from gymsuite.agents.run.callbacks import OptimizerStepHook
from gymsuite.common.datafiles import DamagedFileError, read_torch
from gymsuite.common.errors import UserError, closest_hint
from gymsuite.common.files import write_buffered
from gymsuite.common.options import Rule, check, option, parse
from gymsuite.supervised import backbones
from gymsuite.supervised.autoencoder import AUX_LOSSES, CORRUPTIONS, AutoEncoderLoss, make_decoder
from gymsuite.supervised.backbone import Backbone, encoder_of
from gymsuite.supervised.encoderfile import check_fits, read_encoder

AUX_FORMAT, AUX_VERSION = "gymsuite-aux", 1


@dataclass(frozen=True)
class AuxOptions:
    """The hyperparameters of this module (each one a key of ``gymsuite.agents.algorithms.spec.RUN_KEYS``)."""

    aux: str | None = option(None, "auxiliary loss trained beside the RL loss: recon or denoise",
                             Rule(str, choices=AUX_LOSSES, nullable=True))
    aux_coef: float = option(1.0, "weight of the auxiliary loss in the encoder's gradient",
                             Rule(float, low=0, finite=True))
    aux_kwargs: dict[str, Any] | None = option(None, "auxiliary-loss options (AuxKwargs)")
    backbone_init: str | None = option(None, "encoder file of gymsuite pretrain to start the backbone from",
                                       Rule(str, nullable=True))
    freeze_backbone: bool = option(False, "keep the backbone's weights fixed", Rule(bool))


@dataclass(frozen=True)
class AuxKwargs:
    """``aux_kwargs``: the auxiliary loss's own options."""

    learning_rate: float = option(1e-3, "Adam step size of the decoder", Rule(float, low=0, low_open=True, finite=True))
    batch_size: int | None = option(None, "observations per auxiliary step (default: the algorithm's batch_size)",
                                    Rule(int, low=1, nullable=True))
    every: int = option(1, "take an auxiliary step at one optimiser step in this many (its gradient is not scaled "
                        "up): fewer decoder passes, for wall time", Rule(int, low=1))
    latent_l2: float = option(1e-6, "weight of 0.5 ||z||^2 on the features (SAC+AE)", Rule(float, low=0, finite=True))
    corruption: str = option("gaussian", "denoise only: gaussian noise or mask (zero inputs)",
                             Rule(str, choices=CORRUPTIONS))
    noise: float = option(0.2, "denoise only: the noise's std, or the masking probability",
                          Rule(float, low=0, finite=True))


def can_use_aux() -> list[str]:
    """The algorithms trained by SB3's ``learn`` (not imitation's), which the auxiliary loss hooks into."""
    return [name for name in registry.available() if registry.get(name).learn is None]


def _given(hyper: Mapping[str, Any]) -> dict[str, Any]:
    """The :class:`AuxOptions` keys of a run's hyperparameters."""
    return {k: v for k, v in hyper.items() if k in AuxOptions.__dataclass_fields__}


def check_options(algo: str, hyper: dict[str, Any]) -> AuxOptions:
    """The :class:`AuxOptions` of ``hyper``; a :class:`UserError` for a bad one, before anything is built."""
    given = _given(hyper)
    if isinstance(given.get("aux"), str) and given["aux"] not in AUX_LOSSES:
        raise UserError(f"unknown auxiliary loss aux={given['aux']!r}", closest_hint(given["aux"], AUX_LOSSES, "use"))
    opts = parse(AuxOptions, given, "hyperparameter")
    if opts.aux_kwargs is not None:
        if not isinstance(opts.aux_kwargs, dict):
            raise UserError(f"aux_kwargs must be a mapping, got {opts.aux_kwargs!r}", "e.g. aux_kwargs={noise: 0.3}")
        check(AuxKwargs, opts.aux_kwargs, "aux_kwargs option")
    used = [k for k in ("aux", "backbone_init") if getattr(opts, k)]
    if used and algo not in can_use_aux():
        raise UserError(f"{' and '.join(used)} cannot be used with {algo}: it trains outside SB3's learn loop",
                        f"use one of {', '.join(can_use_aux())}")
    return opts


def aux_options(hyper: Mapping[str, Any]) -> AuxOptions:
    """The :class:`AuxOptions` of a run's (checked, :func:`check_options`) hyperparameters."""
    return parse(AuxOptions, _given(hyper), "hyperparameter")


def init_backbone(model: BaseAlgorithm, path: str) -> None:
    """Load the encoder file ``path`` into every backbone of ``model``'s policy (shared, actor, critic, target).

    Called after the model is built: SB3's ``ortho_init`` has re-initialised the extractors by then.
    """
    data = read_encoder(path)
    policy = model.policy
    extractors = [m for m in policy.modules() if isinstance(m, Backbone)]
    if not extractors:
        raise UserError(f"backbone_init needs a gymsuite backbone, but this run's features extractor is "
                        f"{type(encoder_of(model.policy)).__name__}", f"pass --hyperparams backbone={data['backbone']}")
    names = {cls: name for name, cls in backbones.BACKBONES.items()}
    name = names.get(type(extractors[0]), type(extractors[0]).__name__)
    check_fits(data, path, name, dict(policy.features_extractor_kwargs), policy.observation_space)
    for extractor in extractors:
        try:
            extractor.load_state_dict(data["state_dict"])
        except RuntimeError as err:
            raise UserError(f"{path} does not fit this run's {name} backbone: {err}") from err


class AuxTrainer(OptimizerStepHook):
    """Trains a decoder beside the RL loss and adds ``aux_coef`` x its loss to the encoder's gradient.

    See the module docstring for the rule and the hook. Build with :meth:`create`.

    Args:
        model: the model whose encoder learns. options: its :class:`AuxOptions` (``aux`` set).
        seed: seed of the decoder's weights and of the minibatch draws.
    """

    def __init__(self, model: BaseAlgorithm, options: AuxOptions, seed: int = 0) -> None:
        super().__init__(model)
        assert options.aux is not None
        kw = AuxKwargs(**check(AuxKwargs, options.aux_kwargs or {}, "aux_kwargs option"))
        self.kind, self.coef, self.every = options.aux, options.aux_coef, kw.every
        self.calls = 0  # optimiser steps seen, for ``every`` (saved: a resume keeps the phase)
        self.loss = AutoEncoderLoss(options.aux, kw.latent_l2, kw.corruption, kw.noise)
        self.batch_size = kw.batch_size or int(getattr(model, "batch_size", 64) or 64)
        self.space = model.policy.observation_space
        encoder = encoder_of(model.policy)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.decoder = make_decoder(self.space, int(encoder.features_dim)).to(model.device)
        self.optimizer = torch.optim.Adam(self.decoder.parameters(), lr=kw.learning_rate)
        self.rng = np.random.default_rng(seed)

    @classmethod
    def create(cls, model: BaseAlgorithm, opts: AuxOptions, seed: int) -> AuxTrainer | None:
        """The trainer for ``opts.aux``, or None when it is not set."""
        return cls(model, opts, seed) if opts.aux else None

    def observations(self) -> torch.Tensor | None:
        """A minibatch ``(B, *O)`` of preprocessed observations: the rollout's or the replay buffer's."""
        model = self._target
        if isinstance(model, OffPolicyAlgorithm):
            buffer: ReplayBuffer | RolloutBuffer | None = model.replay_buffer
            assert isinstance(buffer, ReplayBuffer)
            upper = buffer.buffer_size if buffer.full else buffer.pos
            if upper == 0:
                return None
            rows, envs = self.rng.integers(0, upper, self.batch_size), self.rng.integers(0, buffer.n_envs,
                                                                                           self.batch_size)
            obs = buffer._normalize_obs(buffer.observations[rows, envs], model._vec_normalize_env)
        else:
            buffer = getattr(model, "rollout_buffer", None)
            assert isinstance(buffer, RolloutBuffer)
            flat = buffer.observations.reshape(-1, *(self.space.shape or ()))  # (T*N, *O) as the policy saw them
            obs = flat[self.rng.integers(0, len(flat), self.batch_size)]
        tensor = preprocess_obs(torch.as_tensor(obs, device=model.device), self.space,
                                normalize_images=model.policy.normalize_images)
        assert isinstance(tensor, torch.Tensor)
        return tensor.float()

    def step(self) -> None:
        """One auxiliary step: ``aux_coef * loss`` into the encoder's gradient, a decoder update, the losses logged.

        The encoder's share is clipped to the algorithm's ``max_grad_norm`` on its own, as SB3 has just clipped
        the RL gradient: the sum then stays within twice the bound, and a large ``aux_coef`` cannot swamp the RL loss.
        With ``every`` k > 1, only one optimiser step in k takes it.
        """
        self.calls += 1
        if (self.calls - 1) % self.every:
            return
        obs = self.observations()
        if obs is None:
            return
        encoder = encoder_of(self._target.policy)
        trained = [p for p in encoder.parameters() if p.requires_grad]  # none when the backbone is frozen
        decoder = list(self.decoder.parameters())
        with torch.enable_grad():
            losses = self.loss(encoder, self.decoder, obs, self.space)
            grads = torch.autograd.grad(self.coef * losses["loss"], [*trained, *decoder])
        encoder_grads = list(grads[:len(trained)])
        max_norm = getattr(self._target, "max_grad_norm", None)
        if encoder_grads and max_norm:
            norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in encoder_grads]))
            encoder_grads = [g * min(1.0, float(max_norm) / (float(norm) + 1e-6)) for g in encoder_grads]
        for param, grad in zip(trained, encoder_grads, strict=True):
            param.grad = grad if param.grad is None else param.grad + grad  # beside the RL gradient of this step
        for param, grad in zip(decoder, grads[len(trained):], strict=True):
            param.grad = grad
        self.optimizer.step()
        for key in (f"{self.kind}_loss", "latent_l2"):
            self._target.logger.record_mean(f"aux/{key}", float(losses[key].detach()))

    def save(self, path: Path) -> None:
        """The decoder's and its optimiser's state dicts and the minibatch generator's state, as plain data."""
        state = {"format": AUX_FORMAT, "version": AUX_VERSION, "aux": self.kind,
                 "decoder": self.decoder.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "rng": self.rng.bit_generator.state, "calls": self.calls}
        write_buffered(path, lambda f: torch.save(state, f))  # a full disk: an OSError, not torch's RuntimeError

    def load(self, path: Path) -> None:
        """Restore :meth:`save`'s file (``weights_only``: no unpickling).

        Raises:
            DamagedFileError: a truncated, garbage or foreign file, or one of another aux loss or decoder (named).
        """
        what, fix = f"the {self.kind} auxiliary state of this run", "delete it to resume with a fresh decoder"
        data = read_torch(path, what, fix, map_location=self._target.device)
        if not isinstance(data, dict) or data.get("format") != AUX_FORMAT or data.get("aux") != self.kind:
            raise DamagedFileError(path, what, f"it holds {_kind_of(data)}", fix)
        try:
            self.decoder.load_state_dict(data["decoder"])
            self.optimizer.load_state_dict(data["optimizer"])
            if "rng" in data:
                self.rng.bit_generator.state = data["rng"]
            self.calls = int(data.get("calls", 0))
        except (KeyError, ValueError, TypeError, RuntimeError) as err:  # RuntimeError: other shapes or keys
            raise DamagedFileError(path, what, f"it does not fit this run's decoder ({err})", fix) from err


def _kind_of(data: Any) -> str:
    """What an auxiliary-state file holds instead of the state expected, for a message."""
    if isinstance(data, dict) and data.get("format") == AUX_FORMAT:
        return f"the state of the aux loss {data.get('aux')!r}"
    return f"a {type(data).__name__} that is not gymsuite's auxiliary-state format"
