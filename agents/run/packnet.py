"""PackNet for one task of a continual-learning sequence: train the free weights, prune, freeze.

``continual={method: packnet, previous: k, tasks: T, prune_at: S, memory: DIR}``: task k (from 0) of T starts from the
previous task's policy (:func:`gymsuite.agents.run.continual.init_from_previous`). Which task owns each weight of the
actor's weight matrices is kept in the memories (``owner``: an int16 tensor per matrix, -1 for a free weight). While
task k trains, :class:`PackNetMasks` zeroes the gradient (and Adam's first moment) of every weight an earlier task
owns, and of the actor's biases and ``log_std`` after the first task (PackNet trains them on the first task only), so
they do not move. At env step ``S`` it keeps the ``1/(T-k)`` share of the free weights with the largest magnitude
for task k (:func:`gymsuite.supervised.consolidation.magnitude_keep`), zeroes the others (free for the later tasks)
and trains on with task k's own weights only. The critic is trained freely: acting needs only the actor.

Evaluating task j uses the weights of tasks 0..j (:func:`masked_state`); a task's saved model holds exactly the
weights of tasks 0..k (the free ones are zero), so ``gymsuite evaluate DIR/task_k`` on task k is PackNet's network
for it. A resume after the pruning step finds task k's weights again as the free ones that are not zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from stable_baselines3.common.base_class import BaseAlgorithm

from gymsuite.agents.run.callbacks import OptimizerStepHook
from gymsuite.supervised.consolidation import magnitude_keep

FREE = -1


def matrices(actor: Mapping[str, torch.nn.Parameter]) -> dict[str, torch.nn.Parameter]:
    """The actor's weight matrices (the parameters PackNet shares out); biases and ``log_std`` are the rest."""
    return {name: p for name, p in actor.items() if p.dim() > 1}


def owners(previous: Mapping[str, Any] | None, weights: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Each matrix's owner map from the previous task's memory (``owner``), or all free for the first task."""
    saved = (previous or {}).get("owner", {})
    return {name: saved[name].clone() if name in saved else torch.full(w.shape, FREE, dtype=torch.int16)
            for name, w in weights.items()}


def claim(owner: Mapping[str, torch.Tensor], weights: Mapping[str, torch.Tensor], task: int) -> dict[str, torch.Tensor]:
    """``owner`` with the free weights that are not zero given to ``task`` (after its pruning)."""
    out = {}
    for name, w in weights.items():
        mine = (owner[name] == FREE) & (w.detach().cpu() != 0)
        out[name] = torch.where(mine, torch.tensor(task, dtype=torch.int16), owner[name])
    return out


def masked_state(state: Mapping[str, torch.Tensor], owner: Mapping[str, torch.Tensor],
                 task: int) -> dict[str, torch.Tensor]:
    """A policy state dict for task ``task``: the matrices' weights of later tasks zeroed."""
    out = dict(state)
    for name, who in owner.items():
        out[name] = torch.where(who.to(state[name].device) > task, torch.zeros_like(state[name]), state[name])
    return out


class PackNetMasks(OptimizerStepHook):
    """Freezes the earlier tasks' weights, prunes this task's share at ``prune_at``, then trains only its own."""

    def __init__(self, model: BaseAlgorithm, actor: Mapping[str, torch.nn.Parameter],
                 previous: Mapping[str, Any] | None, task: int, tasks: int, prune_at: int) -> None:
        super().__init__(model)
        self.weights = matrices(actor)
        self.rest = [p for name, p in actor.items() if name not in self.weights]
        self.owner = owners(previous, self.weights)
        self.task, self.share, self.prune_at = task, 1.0 / max(tasks - task, 1), prune_at
        self.pruned = False

    def _on_training_start(self) -> None:
        super()._on_training_start()
        if self._target.num_timesteps >= self.prune_at:  # resumed after the pruning: the zeros say what was pruned
            self.pruned = True

    def _on_rollout_end(self) -> None:
        if not self.pruned and self._target.num_timesteps >= self.prune_at:
            self.prune()

    @torch.no_grad()
    def prune(self) -> None:
        """Keep this task's share of the free weights (the largest), zero the other free ones."""
        for name, w in self.weights.items():
            free = (self.owner[name] == FREE).to(w.device)
            kept = magnitude_keep(w, free, self.share)
            w[free & ~kept] = 0
        self.pruned = True

    def trainable(self, name: str) -> torch.Tensor:
        """Where matrix ``name`` may change: the free weights before the pruning, those kept (not zero) after."""
        w = self.weights[name]
        free = (self.owner[name] == FREE).to(w.device)
        return free & (w != 0) if self.pruned else free

    def step(self) -> None:
        """Zero the gradient and Adam's first moment wherever nothing may change."""
        state = self._target.policy.optimizer.state
        for name, w in self.weights.items():
            fixed = ~self.trainable(name)
            if w.grad is not None:
                w.grad[fixed] = 0
            if "exp_avg" in state.get(w, {}):
                state[w]["exp_avg"][fixed] = 0
        if self.task > 0:
            for p in self.rest:
                if p.grad is not None:
                    p.grad.zero_()
                if "exp_avg" in state.get(p, {}):
                    state[p]["exp_avg"].zero_()
