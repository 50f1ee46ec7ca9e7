"""Self-play's ``symmetric=true``: a MaskablePPO policy whose action logits and value are averaged over the board's
symmetries (:mod:`gymsuite.supervised.symmetry`).

Every forward pass runs the policy's own network (features extractor, MLP, action and value heads, as in
``MlpPolicy``) on the G transformed copies of the board, brings each copy's logits back to the original cell order and
averages them; the value is the mean of the G values. The action mask is applied after the averaging, by
sb3-contrib's masked distribution as usual. Rotating the board rotates the policy's logits, so what it learns about
one orientation of a line holds for all of them.

The class adds no weights and no constructor argument: its symmetries follow from the spaces, so a saved model is a
plain MaskablePPO zip whose ``policy_class`` is this class (gymsuite's loader accepts it, listed in selfplay's
``saved_classes``; plain ``MaskablePPO.load`` imports it), and its state dict is that of ``MlpPolicy``.

Shapes: B batch, G symmetries, H/W/C board rows, columns and planes, A actions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from sb3_contrib.common.maskable.distributions import MaskableDistribution
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.type_aliases import PyTorchObs

from gymsuite.supervised.symmetry import SymmetryAverage, board_symmetry


def check_board(observation_space: spaces.Space, action_space: spaces.Space) -> None:
    """Raise the :class:`~gymsuite.common.errors.UserError` of
    :func:`~gymsuite.supervised.symmetry.board_symmetry` when these spaces have no symmetries to average over."""
    board_symmetry(tuple(observation_space.shape or ()), int(getattr(action_space, "n", 0)))


class SymmetricMaskablePolicy(MaskableActorCriticPolicy):
    """MaskablePPO's ``MlpPolicy`` averaged over the board's symmetries (see the module docstring).

    Takes ``MaskableActorCriticPolicy``'s arguments; ``observation_space`` is a ``(H, W, C)`` board and
    ``action_space`` a ``Discrete(H * W)`` (square board) or ``Discrete(W)`` (columns).
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space, *args: Any, **kwargs: Any
                 ) -> None:
        symmetry = board_symmetry(tuple(observation_space.shape or ()), int(getattr(action_space, "n", 0)))
        super().__init__(observation_space, action_space, *args, **kwargs)
        self.average = SymmetryAverage(symmetry)

    def _boards(self, obs: PyTorchObs) -> torch.Tensor:
        """``(B, H, W, C)`` -> its ``(G * B, H, W, C)`` transformed copies (a board is one tensor, never a dict)."""
        assert isinstance(obs, torch.Tensor), "a board observation is one tensor"
        return self.average.boards(obs)

    def _latents(self, obs: PyTorchObs) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, H, W, C)`` -> the actor's and the critic's latents of the ``(G * B, ...)`` transformed boards."""
        features = self.extract_features(self._boards(obs))
        if self.share_features_extractor:
            return self.mlp_extractor(features)
        pi_features, vf_features = features
        return self.mlp_extractor.forward_actor(pi_features), self.mlp_extractor.forward_critic(vf_features)

    def _distribution(self, latent_pi: torch.Tensor) -> MaskableDistribution:
        """The categorical of the averaged logits ``(B, A)`` (no mask yet)."""
        return self.action_dist.proba_distribution(action_logits=self.average.logits(self.action_net(latent_pi)))

    def forward(self, obs: PyTorchObs, deterministic: bool = False, action_masks: np.ndarray | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Actions ``(B,)``, values ``(B, 1)`` and log-probabilities ``(B,)`` (as ``MaskableActorCriticPolicy``)."""
        latent_pi, latent_vf = self._latents(obs)
        distribution = self._distribution(latent_pi)
        if action_masks is not None:
            distribution.apply_masking(action_masks)
        actions = distribution.get_actions(deterministic=deterministic)
        values = self.average.values(self.value_net(latent_vf))
        return actions, values, distribution.log_prob(actions)

    def evaluate_actions(self, obs: PyTorchObs, actions: torch.Tensor, action_masks: torch.Tensor | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Values ``(B, 1)``, log-probabilities ``(B,)`` and entropies ``(B,)`` of ``actions`` ``(B,)``."""
        latent_pi, latent_vf = self._latents(obs)
        distribution = self._distribution(latent_pi)
        if action_masks is not None:
            distribution.apply_masking(action_masks)
        values = self.average.values(self.value_net(latent_vf))
        return values, distribution.log_prob(actions), distribution.entropy()

    def get_distribution(self, obs: PyTorchObs, action_masks: np.ndarray | None = None) -> MaskableDistribution:
        """The masked action distribution for ``obs`` ``(B, H, W, C)``."""
        features = super(MaskableActorCriticPolicy, self).extract_features(self._boards(obs),
                                                                          self.pi_features_extractor)
        distribution = self._distribution(self.mlp_extractor.forward_actor(features))
        if action_masks is not None:
            distribution.apply_masking(action_masks)
        return distribution

    def predict_values(self, obs: PyTorchObs) -> torch.Tensor:
        """Values ``(B, 1)`` for ``obs`` ``(B, H, W, C)``."""
        features = super(MaskableActorCriticPolicy, self).extract_features(self._boards(obs),
                                                                          self.vf_features_extractor)
        return self.average.values(self.value_net(self.mlp_extractor.forward_critic(features)))
