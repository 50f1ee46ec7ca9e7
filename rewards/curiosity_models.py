"""The networks behind curiosity: encoders, ICM, RND and raw next-observation prediction.

Each model maps a batch of transitions to an intrinsic reward per transition and to a
training loss. Observations arrive preprocessed by :class:`ObsNormalizer`. ``numpy_reward()`` gives the same
reward computed in numpy (for vector observations), which the bonus calls at every env step; a test holds the
two equal.

Shapes: B batch, O observation (vectors are flattened to ``(B, O)``), A action encoding
(one-hot for ``Discrete``), F feature size, C/H/W image (channels first once preprocessed).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from gymnasium import spaces
from torch import nn
from torch.nn import functional as F  # noqa: N812

from gymsuite.supervised.backbones import make_encoder
from gymsuite.supervised.mlp import mlp
from gymsuite.supervised.numpy_mlp import numpy_mlp


def action_size(space: spaces.Space) -> int:
    """Width A of the action encoding: ``n`` for ``Discrete`` (one-hot), the flat size for ``Box``."""
    return int(space.n) if isinstance(space, spaces.Discrete) else int(np.prod(space.shape or ()))


def action_matrix(actions: np.ndarray, space: spaces.Space) -> np.ndarray:
    """``(B,)`` ints -> one-hot ``(B, A)`` float32 for ``Discrete``; ``(B, *A)`` -> ``(B, A)`` float32 for ``Box``."""
    if isinstance(space, spaces.Discrete):
        index = np.asarray(actions).reshape(-1) - int(space.start)
        onehot = np.zeros((len(index), int(space.n)), np.float32)
        onehot[np.arange(len(index)), index] = 1.0
        return onehot
    return np.asarray(actions, dtype=np.float32).reshape(len(actions), -1)


def encode_actions(actions: np.ndarray, space: spaces.Space) -> torch.Tensor:
    """:func:`action_matrix` as a tensor ``(B, A)``."""
    return torch.as_tensor(action_matrix(actions, space))


NumpyReward = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""A model's reward in numpy: normalised ``obs (B, O)``, :func:`action_matrix` ``(B, A)``, ``next_obs (B, O)`` ->
``(B,)``; see :mod:`gymsuite.supervised.numpy_mlp` for why."""


class ICM(nn.Module):
    """Intrinsic Curiosity Module (Pathak et al. 2017, "Curiosity-driven exploration by self-supervised prediction").

    An encoder ``phi`` is trained only through an inverse model that predicts the action from
    ``(phi(s), phi(s'))``, so it keeps what the agent's actions affect and has no reason to
    encode what they cannot (a noisy TV). A forward model predicts ``phi(s')`` from
    ``(phi(s), a)``; its error is the reward: ``r = 1/2 mean_F (f(phi(s), a) - phi(s'))^2``.
    Loss ``(1 - beta) L_inverse + beta L_forward``. As in the paper's code, the forward loss
    also reaches the encoder: features that no model can predict then cost loss, so noise is
    pushed out of ``phi`` while the inverse loss keeps ``phi`` from collapsing.

    Args:
        obs_space: observation space (vector or image ``Box``).
        action_space: ``Discrete`` (cross-entropy inverse loss) or ``Box`` (squared error).
        features: F. hidden: MLP width. beta: weight of the forward loss.
    """

    def __init__(self, obs_space: spaces.Box, action_space: spaces.Space, features: int = 64,
                 hidden: int = 128, beta: float = 0.2, backbone: str | None = None) -> None:
        super().__init__()
        self.action_space, self.beta = action_space, beta
        n_act = action_size(action_space)
        self.encoder = make_encoder(obs_space, features, hidden, backbone=backbone)
        self.inverse = mlp([2 * features, hidden, n_act])
        self.forward_model = mlp([features + n_act, hidden, features])

    def _features(self, obs: torch.Tensor, next_obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``phi(s), phi(s')``, ``(B, F)`` each, from one encoder pass over both halves (one call per layer)."""
        both = self.encoder(torch.cat([obs, next_obs]))  # (2B, F)
        return both[:len(obs)], both[len(obs):]

    def _forward_error(self, phi: torch.Tensor, act: torch.Tensor, phi_next: torch.Tensor) -> torch.Tensor:
        predicted = self.forward_model(torch.cat([phi, act], dim=1))  # (B, F)
        return 0.5 * (predicted - phi_next).pow(2).mean(dim=1)  # (B,)

    def _errors(self, obs: torch.Tensor, actions: np.ndarray, next_obs: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        phi, phi_next = self._features(obs, next_obs)
        act = encode_actions(actions, self.action_space)  # (B, A)
        forward_error = self._forward_error(phi, act, phi_next)
        logits = self.inverse(torch.cat([phi, phi_next], dim=1))  # (B, A)
        if isinstance(self.action_space, spaces.Discrete):
            inverse_loss = F.cross_entropy(logits, act.argmax(dim=1))
        else:
            inverse_loss = F.mse_loss(logits, act)
        return forward_error, inverse_loss

    def reward(self, obs: torch.Tensor, actions: np.ndarray, next_obs: torch.Tensor) -> torch.Tensor:
        """Forward-model error in feature space, ``(B,)`` (the inverse model is not run: only training needs it)."""
        phi, phi_next = self._features(obs, next_obs)
        return self._forward_error(phi, encode_actions(actions, self.action_space), phi_next)

    def numpy_reward(self) -> NumpyReward | None:
        """:meth:`reward` in numpy, or ``None`` for an encoder other than an MLP."""
        encoder, forward_model = numpy_mlp(self.encoder), numpy_mlp(self.forward_model)
        if encoder is None or forward_model is None:
            return None

        def reward(obs: np.ndarray, actions: np.ndarray, next_obs: np.ndarray) -> np.ndarray:
            both = encoder(np.concatenate([obs, next_obs]))  # (2B, F)
            phi, phi_next = both[:len(obs)], both[len(obs):]
            predicted = forward_model(np.concatenate([phi, actions], axis=1))  # (B, F)
            return 0.5 * np.square(predicted - phi_next).mean(axis=1)

        return reward

    def loss(self, obs: torch.Tensor, actions: np.ndarray, next_obs: torch.Tensor
             ) -> tuple[torch.Tensor, dict[str, float]]:
        forward_error, inverse_loss = self._errors(obs, actions, next_obs)
        forward_loss = forward_error.mean()
        loss = (1.0 - self.beta) * inverse_loss + self.beta * forward_loss
        return loss, {"forward_loss": forward_loss.item(), "inverse_loss": inverse_loss.item()}


class RND(nn.Module):
    """Random Network Distillation (Burda et al. 2018, "Exploration by random network distillation").

    A fixed random network ``f`` embeds ``s'``; a predictor ``g`` (one layer deeper) is trained to
    match it on visited states. ``r = mean_F (g(s') - f(s'))^2`` is large on states unlike those
    seen so far. The action is not used.
    """

    def __init__(self, obs_space: spaces.Box, action_space: spaces.Space, features: int = 64,
                 hidden: int = 128, backbone: str | None = None) -> None:
        super().__init__()
        self.target = make_encoder(obs_space, features, hidden, backbone=backbone)
        self.target.requires_grad_(False)
        self.predictor = nn.Sequential(make_encoder(obs_space, hidden, hidden, backbone=backbone), nn.ReLU(),
                                       nn.Linear(hidden, features))

    def reward(self, obs: torch.Tensor, actions: np.ndarray, next_obs: torch.Tensor) -> torch.Tensor:
        """Predictor error on ``s'``, ``(B,)``."""
        return (self.predictor(next_obs) - self.target(next_obs)).pow(2).mean(dim=1)

    def numpy_reward(self) -> NumpyReward | None:
        """:meth:`reward` in numpy, or ``None`` for an encoder other than an MLP."""
        predictor, target = numpy_mlp(self.predictor), numpy_mlp(self.target)
        if predictor is None or target is None:
            return None
        return lambda obs, actions, next_obs: np.square(predictor(next_obs) - target(next_obs)).mean(axis=1)

    def loss(self, obs: torch.Tensor, actions: np.ndarray, next_obs: torch.Tensor
             ) -> tuple[torch.Tensor, dict[str, float]]:
        loss = self.reward(obs, actions, next_obs).mean()
        return loss, {"predictor_loss": loss.item()}


class RawForward(nn.Module):
    """Curiosity as the error of predicting the raw next observation from ``(s, a)``: the naive baseline.

    It rewards *every* unpredictable change, including pure noise, so a noisy TV holds its
    attention for ever; ICM exists to fix exactly this (the course's "meaningless novelty").
    ``r = 1/2 mean_O (h(s, a) - s')^2`` on the preprocessed observations.
    """

    def __init__(self, obs_space: spaces.Box, action_space: spaces.Space, features: int = 64,
                 hidden: int = 128, backbone: str | None = None) -> None:
        super().__init__()
        self.action_space = action_space
        self.encoder = make_encoder(obs_space, features, hidden, layers=1, backbone=backbone)
        self.decoder = mlp([features + action_size(action_space), hidden, int(np.prod(obs_space.shape))])

    def reward(self, obs: torch.Tensor, actions: np.ndarray, next_obs: torch.Tensor) -> torch.Tensor:
        """Prediction error on the raw next observation, ``(B,)``."""
        act = encode_actions(actions, self.action_space)
        predicted = self.decoder(torch.cat([self.encoder(obs), act], dim=1))  # (B, O)
        return 0.5 * (predicted - next_obs.reshape(len(next_obs), -1)).pow(2).mean(dim=1)

    def numpy_reward(self) -> NumpyReward | None:
        """:meth:`reward` in numpy, or ``None`` for an encoder other than an MLP."""
        encoder, decoder = numpy_mlp(self.encoder), numpy_mlp(self.decoder)
        if encoder is None or decoder is None:
            return None

        def reward(obs: np.ndarray, actions: np.ndarray, next_obs: np.ndarray) -> np.ndarray:
            predicted = decoder(np.concatenate([encoder(obs), actions], axis=1))  # (B, O)
            return 0.5 * np.square(predicted - next_obs.reshape(len(next_obs), -1)).mean(axis=1)

        return reward

    def loss(self, obs: torch.Tensor, actions: np.ndarray, next_obs: torch.Tensor
             ) -> tuple[torch.Tensor, dict[str, float]]:
        loss = self.reward(obs, actions, next_obs).mean()
        return loss, {"forward_loss": loss.item()}


CuriosityModel = ICM | RND | RawForward  # each maps normalised transitions to reward(...) and loss(...)
MODELS: dict[str, type[CuriosityModel]] = {"icm": ICM, "rnd": RND, "raw": RawForward}
