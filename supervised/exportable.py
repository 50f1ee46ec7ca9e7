"""A trained SB3 policy as one self-contained torch module: the env's raw observation in, the greedy action out.

Course: 第十二部分 "网络压缩" (taking a network out of its training code). SB3 spreads a policy's forward pass
over the ``VecEnv`` wrappers (``VecNormalize``'s statistics, ``VecTransposeImage``'s channel order), the policy's
``preprocess_obs`` (images / 255, one-hot ``Discrete``) and the distribution's ``mode()``; an exported file must
hold all of it, so the modules here put each step inside ``forward``, in the order SB3 applies them:

    raw (B, *R) -> [normalise: clip((x - mean) / sqrt(var + eps), -clip, clip)] -> [HWC -> CHW]
                -> preprocess_obs -> features extractor -> actor -> head -> (action, parameters)

:class:`ObservationPrep` is the first two steps; :class:`ActorExport` (PPO, A2C, PG, BC/GAIL...: actor-critic
policies), :class:`QExport` (DQN) and :class:`LstmActorExport` (sb3-contrib's ``RecurrentPPO``, one step with
its state ``(h, c)`` and the episode-start flag as inputs) wrap a policy. Their outputs, by action space:

| action space  | ``action``                         | ``parameters`` (second output)                              |
|---------------|------------------------------------|-------------------------------------------------------------|
| Discrete      | ``(B,)`` int64, argmax             | ``logits`` ``(B, A)``: log-probabilities (log-softmax)      |
| MultiDiscrete | ``(B, D)`` int64, argmax per part  | ``logits`` ``(B, sum n_d)``: log-softmax per part           |
| MultiBinary   | ``(B, D)`` int64, logit > 0        | ``logits`` ``(B, D)``: Bernoulli logits                     |
| Box           | ``(B, D)`` float32, mean clipped   | ``mean`` ``(B, D)``: the Gaussian's mean, before clipping   |
| DQN           | ``(B,)`` int64, argmax             | ``q_values`` ``(B, A)``                                     |

Shapes: B batch, R raw observation, O observation the policy sees, A actions, L LSTM layers, H hidden size.
"""

from __future__ import annotations

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.dqn.policies import DQNPolicy
from torch import nn


class ObservationPrep(nn.Module):
    """What SB3's ``VecEnv`` wrappers do to a raw observation ``(B, *R)`` before the policy sees it ``(B, *O)``.

    Args:
        mean, var: ``VecNormalize``'s running statistics ``R`` (None: the run did not normalise).
        epsilon, clip: ``VecNormalize``'s ``epsilon`` and ``clip_obs``.
        transpose: ``VecTransposeImage``'s ``(B, H, W, C) -> (B, C, H, W)``.
    """

    def __init__(self, mean: np.ndarray | None = None, var: np.ndarray | None = None, epsilon: float = 1e-8,
                 clip: float = 10.0, transpose: bool = False) -> None:
        super().__init__()
        self.normalize = mean is not None
        self.mean: th.Tensor
        self.std: th.Tensor
        self.register_buffer("mean", th.as_tensor(np.zeros(()) if mean is None else mean, dtype=th.float32))
        std = np.ones(()) if var is None else np.sqrt(np.asarray(var, dtype=np.float64) + epsilon)
        self.register_buffer("std", th.as_tensor(std, dtype=th.float32))
        self.clip = float(clip)
        self.transpose = transpose

    def forward(self, raw: th.Tensor) -> th.Tensor:
        """``(B, *R)`` -> ``(B, *O)``; float32 when normalised, else the raw dtype (preprocess_obs casts it)."""
        x = raw
        if self.normalize:
            x = th.clamp((x.float() - self.mean) / self.std, -self.clip, self.clip)
        if self.transpose:
            x = x.permute(0, 3, 1, 2)  # VecTransposeImage: (B, H, W, C) -> (B, C, H, W)
        return x


def greedy(space: spaces.Space, params: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
    """``(action, parameters)`` from an actor's ``action_net`` output ``params`` for ``space`` (the module's table).

    Box actions are clipped to the space's bounds, as SB3's ``predict`` clips them; like SB3, a space's ``start``
    is not added.
    """
    if isinstance(space, spaces.Discrete):
        logits = th.log_softmax(params, dim=-1)
        return th.argmax(logits, dim=-1), logits
    if isinstance(space, spaces.MultiDiscrete):
        parts = th.split(params, [int(n) for n in space.nvec.reshape(-1)], dim=-1)
        log_probs = [th.log_softmax(part, dim=-1) for part in parts]
        return th.stack([th.argmax(part, dim=-1) for part in log_probs], dim=-1), th.cat(log_probs, dim=-1)
    if isinstance(space, spaces.MultiBinary):
        return (params > 0).long(), params
    if isinstance(space, spaces.Box):
        low = th.as_tensor(space.low, dtype=th.float32).reshape(-1)
        high = th.as_tensor(space.high, dtype=th.float32).reshape(-1)
        return th.clamp(params, low, high).reshape(-1, *space.shape), params
    raise TypeError(f"no greedy action for the action space {space}")


def parameters_name(space: spaces.Space, q_values: bool = False) -> str:
    """The second output's name: ``q_values`` (DQN), ``mean`` (Box actions) or ``logits``."""
    if q_values:
        return "q_values"
    return "mean" if isinstance(space, spaces.Box) else "logits"


class ActorExport(nn.Module):
    """An actor-critic policy's actor: raw observation ``(B, *R)`` -> ``(action, parameters)`` (module table)."""

    def __init__(self, policy: ActorCriticPolicy, prep: ObservationPrep) -> None:
        super().__init__()
        self.policy, self.prep, self.action_space = policy, prep, policy.action_space

    def forward(self, obs: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        features = self.policy.extract_features(self.prep(obs), self.policy.pi_features_extractor)
        assert isinstance(features, th.Tensor)  # one extractor given: one tensor
        latent = self.policy.mlp_extractor.forward_actor(features)
        return greedy(self.action_space, self.policy.action_net(latent))


class QExport(nn.Module):
    """DQN's online Q-network: raw observation ``(B, *R)`` -> ``(argmax action (B,), q_values (B, A))``."""

    def __init__(self, policy: DQNPolicy, prep: ObservationPrep) -> None:
        super().__init__()
        self.q_net, self.prep = policy.q_net, prep

    def forward(self, obs: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        q = self.q_net(self.prep(obs))
        return th.argmax(q, dim=-1), q


class LstmActorExport(nn.Module):
    """One step of RecurrentPPO's actor, its LSTM state explicit.

    ``forward(obs (B, *R), h (L, B, H), c (L, B, H), episode_start (B,) float32 0/1)`` ->
    ``(action, parameters, h', c')``: the state is zeroed where ``episode_start`` is 1, as sb3-contrib's
    ``_process_sequence`` does, then advanced by one step. Start an episode with zeros and ``episode_start`` 1.
    """

    def __init__(self, policy: RecurrentActorCriticPolicy, prep: ObservationPrep) -> None:
        super().__init__()
        self.policy, self.prep, self.action_space = policy, prep, policy.action_space
        self.lstm = policy.lstm_actor

    def forward(self, obs: th.Tensor, h: th.Tensor, c: th.Tensor, episode_start: th.Tensor
                ) -> tuple[th.Tensor, th.Tensor, th.Tensor, th.Tensor]:
        features = self.policy.extract_features(self.prep(obs), self.policy.pi_features_extractor)  # (B, F)
        assert isinstance(features, th.Tensor)
        keep = (1.0 - episode_start.float()).reshape(1, -1, 1)  # (1, B, 1)
        out, (h, c) = self.lstm(features.unsqueeze(0), (h * keep, c * keep))  # out (1, B, H)
        latent = self.policy.mlp_extractor.forward_actor(out.squeeze(0))
        action, params = greedy(self.action_space, self.policy.action_net(latent))
        return action, params, h, c


def lstm_state_shape(policy: RecurrentActorCriticPolicy, batch: int) -> tuple[int, int, int]:
    """``(L, B, H)``: the shape of each of the actor LSTM's ``h`` and ``c`` for ``batch`` envs."""
    lstm = policy.lstm_actor
    return lstm.num_layers, batch, lstm.hidden_size
