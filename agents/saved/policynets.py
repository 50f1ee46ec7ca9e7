"""The networks inside a saved agent's SB3 policy, as compression sees them.

An actor-critic policy (PPO, A2C, the policy gradient) acts through its features extractor, ``policy_net`` and
``action_net``; its critic (``value_net``) is needed only to keep training. DQN acts through ``q_net`` (its
``q_net_target`` is a training copy). :class:`ActingNet` is the part that acts: what is deployed, counted,
timed and quantised. :func:`hidden_chains` lists the ``Linear`` chains (``net_arch``) whose units structured
pruning removes, and :func:`rebuilt` makes the same algorithm with other policy keyword arguments (a smaller
``net_arch``, another backbone): a standard SB3 model that plain ``PPO.load`` reads.

Shapes: B batch, O observation as the model sees it, A actions.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch as th
from gymnasium import spaces
from sb3_contrib import MaskablePPO, RecurrentPPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.preprocessing import preprocess_obs
from stable_baselines3.dqn.policies import DQNPolicy
from torch import nn

from gymsuite.common.errors import UserError

Policy = ActorCriticPolicy | DQNPolicy
TARGET_PREFIX = "q_net_target."  # DQN's copy of q_net, which follows it


def check_policy(model: BaseAlgorithm | None, algo: str, what: str = "compress") -> Policy:
    """``model``'s policy, or a :class:`UserError` for one ``what`` cannot handle yet (said before any work)."""
    if model is None:
        raise UserError(f"{what} needs a trained agent, not 'random'", "pass a run directory or a model .zip")
    if isinstance(model, RecurrentPPO):
        raise UserError(f"{what} does not support recurrent agents (backbone=lstm) yet: their LSTM state would "
                        "have to be distilled or pruned along a whole episode", "compress a run without backbone=lstm")
    policy = model.policy
    if isinstance(model, MaskablePPO) or not isinstance(policy, ActorCriticPolicy | DQNPolicy):
        raise UserError(f"{what} reads an actor-critic policy (ppo, a2c, pg) or DQN's Q-network, and {algo}'s is "
                        f"{type(policy).__name__}", f"{what} a ppo, a2c, pg or dqn run")
    if not isinstance(model.action_space, spaces.Discrete):
        raise UserError(f"{what} compares greedy actions of a discrete action space, and {algo}'s is "
                        f"{model.action_space}: continuous actions are not supported yet",
                        f"{what} an agent with Discrete actions")
    return policy


class ActingNet(nn.Module):
    """``(B, *O) -> (B, A)``: the part of ``policy`` that acts, as one module (its logits, or DQN's Q-values).

    Holds the policy's own modules (not copies): a change to one is a change to the policy. The observation is
    taken as the model sees it (normalised, channels first) and preprocessed as SB3 does (images / 255).
    """

    def __init__(self, policy: Policy) -> None:
        super().__init__()
        self.space = policy.observation_space
        self.normalize_images = policy.normalize_images
        self.extractor: nn.Module
        self.body: nn.Module
        self.head: nn.Module
        if isinstance(policy, DQNPolicy):
            self.extractor, self.body, self.head = policy.q_net.features_extractor, policy.q_net.q_net, nn.Identity()
        else:
            self.extractor = policy.pi_features_extractor
            self.body, self.head = policy.mlp_extractor.policy_net, policy.action_net

    def forward(self, obs: th.Tensor) -> th.Tensor:
        x = preprocess_obs(obs, self.space, normalize_images=self.normalize_images)
        assert isinstance(x, th.Tensor), "compress takes array observations"
        return self.head(self.body(self.extractor(x)))


def acting_prefixes(policy: Policy) -> tuple[str, ...]:
    """Names (prefixes in ``policy.named_parameters()``) of the parameters :class:`ActingNet` uses."""
    if isinstance(policy, DQNPolicy):
        return ("q_net.",)
    return ("features_extractor.", "pi_features_extractor.", "mlp_extractor.policy_net.", "action_net.")


@dataclass(frozen=True)
class Chain:
    """A chain of ``Linear`` layers in a policy: the hidden layers of one ``net_arch`` branch, then the head that
    reads them. ``branch``: ``"pi"``, ``"vf"`` (actor-critic) or ``"q"`` (DQN); ``names``: each weight's name in
    ``policy.named_parameters()``."""

    branch: str
    layers: tuple[nn.Linear, ...]
    names: tuple[str, ...]

    @property
    def widths(self) -> list[int]:
        """The hidden widths (``net_arch`` of this branch)."""
        return [layer.out_features for layer in self.layers[:-1]]


def hidden_chains(policy: Policy) -> list[Chain]:
    """The policy's ``net_arch`` chains: ``pi`` and ``vf`` of an actor-critic, ``q`` of DQN."""
    def chain(branch: str, prefix: str, body: nn.Module, head: nn.Module, head_name: str) -> Chain:
        found = [(f"{prefix}.{n}.weight", m) for n, m in body.named_children() if isinstance(m, nn.Linear)]
        if isinstance(head, nn.Linear):
            found.append((f"{head_name}.weight", head))
        return Chain(branch, tuple(m for _, m in found), tuple(n for n, _ in found))

    if isinstance(policy, DQNPolicy):  # q_net.q_net: Linear, ReLU, ..., Linear (the head)
        found = [(f"q_net.q_net.{n}.weight", m) for n, m in policy.q_net.q_net.named_children()
                 if isinstance(m, nn.Linear)]
        return [Chain("q", tuple(m for _, m in found), tuple(n for n, _ in found))]
    return [chain("pi", "mlp_extractor.policy_net", policy.mlp_extractor.policy_net, policy.action_net, "action_net"),
            chain("vf", "mlp_extractor.value_net", policy.mlp_extractor.value_net, policy.value_net, "value_net")]


def net_arch(policy: Policy) -> list[int] | dict[str, list[int]]:
    """The policy's ``net_arch`` as SB3 takes it, read from its layers (``{"pi": ..., "vf": ...}``, or DQN's list)."""
    chains = {c.branch: c.widths for c in hidden_chains(policy)}
    return chains["q"] if "q" in chains else {"pi": chains["pi"], "vf": chains["vf"]}


def rebuilt(model: BaseAlgorithm, **policy_kwargs: Any) -> BaseAlgorithm:
    """A copy of ``model`` (every hyperparameter kept) with a new, freshly initialised policy built with
    ``policy_kwargs`` added to its own: a standard SB3 model of the same class."""
    # a shallow copy: _setup_model replaces what differs (the policy, its optimiser, the buffer, the schedules);
    # a deep one fails on the tensors a trained model holds that are not graph leaves
    clone = copy.copy(model)
    clone.policy_kwargs = {**model.policy_kwargs, **policy_kwargs}
    clone._setup_model()
    return clone
