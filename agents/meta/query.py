"""First-order MAML's query gradient for an SB3 PPO agent: the gradient of PPO's loss on a fresh rollout (the query
set) at the adapted weights.

On a rollout the policy has just collected, every probability ratio is 1, so PPO's clipped surrogate is the plain
policy-gradient loss ``-mean(A_hat * log pi(a|s))`` (in gradient); with the value loss ``vf_coef * mean((V - R)^2)``
and the entropy bonus ``-ent_coef * mean(H)`` it is the loss of one PPO step on the whole rollout (advantages
normalised as PPO does). Its gradient is clipped to PPO's ``max_grad_norm``, as PPO clips its own steps.

Shapes: B the rollout's transitions (``n_steps * n_envs``).
"""

from __future__ import annotations

import torch
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import CallbackList

from gymsuite.common.errors import UserError


def query_gradient(model: BaseAlgorithm) -> dict[str, torch.Tensor]:
    """Collect one rollout (``n_steps`` per env, the model's env, continuing where its training stopped) and return
    the gradient of PPO's loss on it, name -> tensor for every entry of the policy's ``state_dict`` (zeros where
    the entry is no trained parameter)."""
    if not isinstance(model, PPO):
        raise UserError(f"--method fomaml takes the gradient of PPO's loss, not {type(model).__name__}'s",
                        "train with PPO (the default)")
    env = model.get_env()
    assert env is not None and model._last_obs is not None, "call learn() first (the adaptation)"
    callback = CallbackList([])
    callback.init_callback(model)
    model.policy.set_training_mode(False)
    model.collect_rollouts(env, callback, model.rollout_buffer, model.n_steps)
    policy = model.policy
    policy.set_training_mode(True)
    policy.zero_grad()
    (data,) = list(model.rollout_buffer.get(None))  # the whole rollout: B transitions
    actions = data.actions.long().flatten() if isinstance(model.action_space, spaces.Discrete) else data.actions
    values, log_prob, entropy = policy.evaluate_actions(data.observations, actions)
    advantages = data.advantages
    if model.normalize_advantage and len(advantages) > 1:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    policy_loss = -(advantages * torch.exp(log_prob - data.old_log_prob)).mean()  # (B,) ratios 1: the PG loss
    entropy_loss = -torch.mean(-log_prob) if entropy is None else -torch.mean(entropy)
    value_loss = torch.nn.functional.mse_loss(data.returns, values.flatten())
    loss = policy_loss + model.ent_coef * entropy_loss + model.vf_coef * value_loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(policy.parameters(), model.max_grad_norm)
    grads = {name: p.grad.detach().clone().cpu() if p.grad is not None else torch.zeros_like(p).cpu()
             for name, p in policy.named_parameters()}
    policy.zero_grad()
    return {name: grads.get(name, torch.zeros_like(value).cpu()) for name, value in policy.state_dict().items()}


__all__ = ["query_gradient"]
