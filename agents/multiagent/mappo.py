"""MAPPO: PPO whose critic reads the global state while the actor reads only the agent's own observation.

Multi-Agent PPO (Yu et al. 2022, "The Surprising Effectiveness of PPO in Cooperative Multi-Agent Games")
is SB3's PPO with one shared policy over all agents (like IPPO, ``--algo ppo`` on a multi-agent env) and a
centralised critic V(s, i): it sees the env's global state ``s`` (``obs["state"]``, which the bridge builds
from ``env.state()`` and, with ``agent_id: true``, the agent's one-hot id i). The critic is used only in
training, so acting needs the agent's own observation alone (decentralised execution).

What SB3 lacks is only the policy: :class:`CentralCriticPolicy` subclasses ``ActorCriticPolicy`` with
separate features extractors, the actor's reading ``obs["obs"]`` (through the run's backbone, else a
flatten) and the critic's reading ``obs["state"]`` (flattened); everything else (rollouts, GAE, the clipped
loss) is SB3's PPO. The run forces ``multiagent: {state: true}`` (:func:`force_state`) so the bridge emits
``Dict({"obs": Box, "state": Box})`` observations; the masked buffer (:mod:`gymsuite.agents.multiagent.buffer`)
leaves out done agents' steps.

Shapes: B batch, O an agent's observation, S the state (each flattened), F features.
"""

from __future__ import annotations

from typing import Any

import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, FlattenExtractor, MlpExtractor

from gymsuite.agents.algorithms.spec import PARALLEL, AlgoSpec
from gymsuite.agents.multiagent.buffer import MASKED_BUFFERS
from gymsuite.common.errors import UserError
from gymsuite.supervised import backbones

__all__ = ["SPECS", "CentralCriticPolicy", "KeyExtractor", "force_state"]

OBS, STATE = "obs", "state"


class KeyExtractor(BaseFeaturesExtractor):
    """The features of one entry ``key`` of a Dict observation, by ``inner_class`` (default: flatten).

    ``(B, *space[key].shape)`` -> ``(B, F)``; the other entries are not read.
    """

    def __init__(self, observation_space: spaces.Dict, key: str,
                 inner_class: type[BaseFeaturesExtractor] = FlattenExtractor,
                 inner_kwargs: dict[str, Any] | None = None) -> None:
        inner = inner_class(observation_space[key], **(inner_kwargs or {}))
        super().__init__(observation_space, inner.features_dim)
        self.key, self.inner = key, inner

    def forward(self, observations: dict[str, th.Tensor]) -> th.Tensor:
        return self.inner(observations[self.key])


class CentralCriticPolicy(ActorCriticPolicy):
    """An actor on ``obs["obs"]`` and a critic on ``obs["state"]`` (see the module docstring).

    ``features_extractor_class``/``_kwargs`` (the run's backbone) build the actor's features; the critic
    flattens the state (an image state: ``small_cnn``). Both go through ``net_arch`` (SB3's ``pi`` and ``vf`` widths).
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space, lr_schedule: Any,
                 **kwargs: Any) -> None:
        if not (isinstance(observation_space, spaces.Dict) and {OBS, STATE} <= set(observation_space.spaces)):
            raise ValueError(f"{type(self).__name__} needs Dict observations with {OBS!r} and {STATE!r} entries "
                             f"(the bridge's multiagent: {{state: true}}), got {observation_space}")
        if kwargs.pop("share_features_extractor", False):
            raise ValueError("the central critic reads the state and the actor the observation: "
                             "share_features_extractor must be false")
        inner = kwargs.pop("features_extractor_class", FlattenExtractor)
        if inner is KeyExtractor:  # rebuilt from the policy's own constructor parameters
            inner_kwargs = dict(kwargs.pop("features_extractor_kwargs", None) or {})
        else:
            inner_kwargs = {"key": OBS, "inner_class": inner,
                            "inner_kwargs": kwargs.pop("features_extractor_kwargs", None) or {}}
        super().__init__(observation_space, action_space, lr_schedule, features_extractor_class=KeyExtractor,
                         features_extractor_kwargs=inner_kwargs, share_features_extractor=False, **kwargs)

    def _build_mlp_extractor(self) -> None:
        # SB3 builds the critic's extractor like the actor's; here it reads the state (before _build's ortho init).
        assert isinstance(self.observation_space, spaces.Dict)
        # An image state (pistonball's whole screen) goes through small_cnn, which takes any image size.
        critic_class = backbones.get("small_cnn") if backbones.is_image(self.observation_space[STATE]) \
            else FlattenExtractor
        self.vf_features_extractor = KeyExtractor(self.observation_space, STATE, critic_class)
        self.mlp_extractor = MlpExtractor(self.features_dim, self.net_arch, self.activation_fn, self.device)
        # MlpExtractor takes one input width; the critic's branch is rebuilt for the state's.
        critic = MlpExtractor(self.vf_features_extractor.features_dim, self.net_arch, self.activation_fn, self.device)
        self.mlp_extractor.value_net = critic.value_net


def force_state(hyper: dict[str, Any]) -> dict[str, Any]:
    """``hyper`` with ``multiagent.state: true`` (MAPPO's critic reads the state), a new mapping; a false one is
    refused."""
    options = hyper.get("multiagent") or {}
    if not isinstance(options, dict):
        return dict(hyper)  # gymsuite.envs.multiagent.multiagent_options reports the bad value
    if options.get("state") is False:
        raise UserError("mappo's critic reads the global state, but multiagent.state is false",
                        "drop multiagent.state (mappo sets it), or use --algo ppo (IPPO, no state)")
    return {**hyper, "multiagent": {**options, "state": True}}


def _build(policy: str, env: Any, kwargs: dict[str, Any]) -> BaseAlgorithm:
    """PPO with :class:`CentralCriticPolicy` (the ``policy`` name of the hyperparameters is MAPPO's own)."""
    if policy not in ("MlpPolicy", "MultiInputPolicy", "CentralCriticPolicy"):
        raise UserError(f"mappo builds its own policy (an actor and a central critic), not {policy}",
                        "drop 'policy' from the hyperparameters; name a backbone with backbone=NAME")
    return PPO(CentralCriticPolicy, env, **kwargs)


#: The registry entry (agents/algorithms/registry.py).
SPECS = (AlgoSpec("mappo", PPO, (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary),
                  "Multi-agent PPO: shared actor, central critic on the global state (multi-agent envs)",
                  build=_build, env_kinds=frozenset({PARALLEL}), decide=force_state,
                  saved_classes=(CentralCriticPolicy, KeyExtractor, *MASKED_BUFFERS)),)
