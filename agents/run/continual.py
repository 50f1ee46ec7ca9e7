"""One task of a continual-learning sequence: start from the previous task's policy and keep the old tasks.

Hyperparameter (run key) ``continual={method: ewc, coef: 1000, memory: DIR, previous: K}``
(:class:`ContinualOptions`), written by ``gymsuite continual`` for each task after the first:

* the run starts from the policy weights of memory ``DIR/task_{K-1}.pt`` (all methods: fine-tuning);
* ``progressive``: a new column per task beside the frozen earlier ones (``backbone=progressive``,
  :mod:`gymsuite.supervised.progressive`), loaded here without the old heads;
* ``packnet``: the actor's weights shared out between the tasks, pruned and frozen
  (:mod:`gymsuite.agents.run.packnet`; ``tasks``: the sequence's length, ``prune_at``: the pruning's env step);
* ``ewc``: adds ``coef * sum_k 1/2 sum_i F_k,i (theta_i - theta_k,i)^2`` over the K earlier tasks' memories
  (each its parameters ``theta_k`` after task k and diagonal Fisher ``F_k``); ``l2`` the same with ``F = 1`` on the
  actor's parameters; ``replay``: ``coef * KL(pi_k(.|s) || pi(.|s))`` on a minibatch of the stored states of every
  earlier task (behaviour cloning of the old policies; ClonEx). The maths: :mod:`gymsuite.supervised.consolidation`.

Like the auxiliary loss, :class:`ContinualPenalty` hooks the policy optimiser's step
(:class:`gymsuite.agents.run.callbacks.OptimizerStepHook`): its gradient is added to SB3's just before each step.
A memory file (:func:`make_memory`, :func:`save_memory`) is a torch file of plain tensors (read with
``weights_only``): ``policy`` (the state dict), ``fisher`` (name -> tensor, actor parameters only), ``states``
``(M, *O)``, and the old policy's distribution there: ``probs`` ``(M, A)`` or ``mean``/``std`` ``(M, A)``.

The memories are not the run's files: the run refers to them by absolute path (a continual directory that moves
keeps its models evaluable, but a task's training cannot resume from the new place).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.vec_env import VecEnv

from gymsuite.agents.run.callbacks import OptimizerStepHook
from gymsuite.agents.run.packnet import PackNetMasks
from gymsuite.agents.saved.loading import LoadedAgent
from gymsuite.agents.saved.onpolicy import collect_states
from gymsuite.common.datafiles import read_torch
from gymsuite.common.errors import UserError
from gymsuite.common.files import atomic_write
from gymsuite.common.options import Rule, option, parse
from gymsuite.supervised.consolidation import diagonal_fisher, quadratic_penalty, replay_kl, stored_distribution

METHODS = ("finetune", "ewc", "l2", "replay", "packnet", "progressive")
DEFAULT_COEF = {"finetune": 0.0, "ewc": 1000.0, "l2": 1.0, "replay": 1.0, "packnet": 0.0, "progressive": 0.0}
HEADS = ("action_net.", "value_net.")  # a progressive network's new column gets new heads


@dataclass(frozen=True)
class ContinualOptions:
    """``continual``: where this task of a sequence starts, and what keeps the earlier ones."""

    method: str = option("finetune", f"what keeps the earlier tasks: {', '.join(METHODS)}",
                         Rule(str, choices=METHODS))
    coef: float | None = option(None, "the penalty's weight (default: ewc 1000, l2 1, replay 1)",
                                Rule(float, low=0, finite=True, nullable=True))
    memory: str = option("", "the folder of the earlier tasks' memory files task_K.pt (an absolute path)",
                         Rule(str))
    previous: int = option(0, "how many tasks came before this one (their memories task_0.pt ...)",
                           Rule(int, low=0))
    batch_size: int = option(256, "stored states per replay step", Rule(int, low=1))
    tasks: int = option(0, "packnet: the number of tasks in the sequence (each keeps 1/(T-k) of the free weights)",
                        Rule(int, low=0))
    prune_at: int = option(0, "packnet: the env step at which this task's weights are pruned", Rule(int, low=0))

    @property
    def weight(self) -> float:
        """``coef``, or the method's default."""
        return DEFAULT_COEF[self.method] if self.coef is None else float(self.coef)

    def memory_file(self, k: int) -> Path:
        """The memory of task ``k`` (from 0)."""
        return Path(self.memory) / f"task_{k}.pt"


def continual_options(hyper: Mapping[str, Any]) -> ContinualOptions | None:
    """The :class:`ContinualOptions` of a run's hyperparameters, or None when ``continual`` is not set.

    Raises:
        UserError: not a mapping, a bad value, or earlier tasks without a memory folder.
    """
    value = hyper.get("continual")
    if value is None or value is False:
        return None
    if not isinstance(value, Mapping):
        raise UserError(f"continual must be a mapping, got {value!r}",
                        "e.g. continual={method: ewc, memory: /abs/dir, previous: 1} (gymsuite continual writes it)")
    opts = parse(ContinualOptions, dict(value), "continual option")
    if opts.previous > 0 and not opts.memory:
        raise UserError("continual.previous > 0 needs continual.memory, the folder of the earlier tasks' memories",
                        "let gymsuite continual write the config")
    if opts.method == "packnet" and opts.tasks <= opts.previous:
        raise UserError(f"continual.tasks={opts.tasks} leaves no share of the weights for task {opts.previous}",
                        "set continual.tasks to the sequence's length (gymsuite continual writes it)")
    return opts


def check_options(algo: str, hyper: Mapping[str, Any]) -> ContinualOptions | None:
    """:func:`continual_options`, and a :class:`UserError` for an algorithm whose policy the penalties cannot
    reach (not an on-policy actor-critic), before anything is built."""
    opts = continual_options(hyper)
    if opts is not None and opts.method == "progressive" and hyper.get("backbone") != "progressive":
        raise UserError("continual.method=progressive needs backbone=progressive (a column per task)",
                        "let gymsuite continual --method progressive write the config")
    if opts is not None and opts.method != "finetune" and hyper.get("backbone") == "lstm":
        raise UserError(f"continual.method={opts.method} cannot be used with backbone=lstm",
                        "train a feed-forward policy, or use --method finetune")
    return opts


def actor_parameters(policy: torch.nn.Module) -> dict[str, torch.nn.Parameter]:
    """The parameters that shape the action distribution of an SB3 actor-critic policy: all but the critic's
    (``value_net``, ``mlp_extractor.value_net``, ``vf_features_extractor``)."""
    return {name: p for name, p in policy.named_parameters()
            if p.requires_grad and "value_net" not in name and "vf_features_extractor" not in name}


def _actor_critic(model: BaseAlgorithm, method: str) -> ActorCriticPolicy:
    if not isinstance(model, OnPolicyAlgorithm) or not isinstance(model.policy, ActorCriticPolicy):
        raise UserError(f"continual.method={method} needs an on-policy actor-critic (ppo, a2c), not "
                        f"{type(model).__name__}", "train with --algo ppo, or use --method finetune")
    return model.policy


def init_from_previous(model: BaseAlgorithm, opts: ContinualOptions | None) -> None:
    """Load the previous task's policy weights (memory ``task_{previous-1}.pt``) into ``model`` (none for task 0).

    Raises:
        UserError: the memory is missing or does not fit this policy.
    """
    if opts is None or opts.previous == 0:
        return
    memory = read_memory(opts.memory_file(opts.previous - 1))
    try:
        if opts.method == "progressive":  # the earlier columns (frozen by the backbone); the new one starts fresh
            old = {k: v for k, v in memory["policy"].items() if not k.startswith(HEADS)}
            unexpected = model.policy.load_state_dict(old, strict=False).unexpected_keys
            if unexpected:
                raise RuntimeError(f"unexpected keys {unexpected[:3]}")
        else:
            model.policy.load_state_dict(memory["policy"])
    except RuntimeError as err:
        raise UserError(f"{opts.memory_file(opts.previous - 1)} holds a policy of another shape: {err}",
                        "every task of a sequence needs the same observation and action spaces") from err


def read_memory(path: Path) -> dict[str, Any]:
    """A memory file, checked to hold what :func:`make_memory` writes."""
    data = read_torch(path, "a continual-learning memory", "run gymsuite continual again on its directory")
    if not isinstance(data, dict) or "policy" not in data or "states" not in data:
        raise UserError(f"{path} is not a continual-learning memory (no policy or states)",
                        "run gymsuite continual again on its directory")
    return data


@torch.no_grad()
def _distribution(policy: ActorCriticPolicy, states: torch.Tensor) -> dict[str, torch.Tensor]:
    dist = policy.get_distribution(states).distribution
    if isinstance(dist, torch.distributions.Categorical):
        return {"probs": dist.probs.detach().clone()}
    if isinstance(dist, torch.distributions.Normal):
        return {"mean": dist.mean.detach().clone(), "std": dist.stddev.detach().clone()}
    raise UserError(f"replay and ewc store Categorical or diagonal Gaussian policies, not {type(dist).__name__}",
                    "use --method finetune for this action space")


def make_memory(model: BaseAlgorithm, agent_env: VecEnv, n_states: int, n_fisher: int, seed: int) -> dict[str, Any]:
    """What a later task keeps of this one: the policy, ``n_states`` on-policy states of ``agent_env`` (one env, the
    task's; sampled actions) with the policy's distribution there, and the diagonal Fisher of the actor's
    parameters on the first ``n_fisher`` of them."""
    policy = model.policy
    torch.manual_seed(seed)
    agent_env.seed(seed)
    states = collect_states(LoadedAgent(model, "", None), agent_env, n_states, deterministic=False, frames=False)
    tensor, _ = policy.obs_to_tensor(states.observations)
    assert isinstance(tensor, torch.Tensor), "continual learning's memories take array observations"
    obs = tensor
    memory: dict[str, Any] = {"policy": {k: v.detach().clone().cpu() for k, v in policy.state_dict().items()},
                              "states": obs.detach().cpu()}
    if isinstance(policy, ActorCriticPolicy):
        memory.update({k: v.cpu() for k, v in _distribution(policy, obs).items()})
        actor = actor_parameters(policy)

        def log_prob(s: torch.Tensor) -> torch.Tensor:
            dist = policy.get_distribution(s)
            return dist.log_prob(dist.sample().detach())

        fisher = diagonal_fisher(list(actor.values()), log_prob, obs[:n_fisher])
        memory["fisher"] = {name: f.cpu() for name, f in zip(actor, fisher, strict=True)}
    return memory


def save_memory(memory: Mapping[str, Any], path: Path) -> None:
    """Write ``memory`` atomically (a torch file of plain tensors)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda p: torch.save(dict(memory), p))


class ContinualPenalty(OptimizerStepHook):
    """Adds the gradient of EWC's, L2's or replay's penalty on the earlier tasks before each optimiser step."""

    def __init__(self, model: BaseAlgorithm, opts: ContinualOptions, seed: int = 0) -> None:
        super().__init__(model)
        self.opts = opts
        policy = _actor_critic(model, opts.method)
        device = policy.device
        self.actor = actor_parameters(policy)
        memories = [read_memory(opts.memory_file(k)) for k in range(opts.previous)]
        self.anchors = [[m["policy"][name].to(device) for name in self.actor] for m in memories]
        if opts.method == "ewc":
            self.importance = [[m["fisher"][name].to(device) for name in self.actor] for m in memories]
        else:
            self.importance = [[torch.ones_like(p) for p in self.actor.values()] for _ in memories]
        self.states = [m["states"].to(device) for m in memories]
        self.stored = [{k: m[k].to(device) for k in ("probs", "mean", "std") if k in m} for m in memories]
        self.generator = torch.Generator().manual_seed(seed)

    def loss(self) -> torch.Tensor:
        """The penalty at the current parameters (a scalar, >= 0; ``coef`` not applied)."""
        params = list(self.actor.values())
        if self.opts.method in ("ewc", "l2"):
            return torch.stack([quadratic_penalty(params, a, b) for a, b in zip(self.anchors, self.importance,
                                                                                 strict=True)]).sum()
        policy = self._target.policy
        assert isinstance(policy, ActorCriticPolicy)
        terms = []
        for states, stored in zip(self.states, self.stored, strict=True):
            rows = torch.randint(0, len(states), (min(self.opts.batch_size, len(states)),), generator=self.generator)
            rows = rows.to(states.device)
            old = stored_distribution({k: v[rows] for k, v in stored.items()})
            new = policy.get_distribution(states[rows]).distribution
            assert isinstance(new, torch.distributions.Distribution)
            terms.append(replay_kl(old, new))
        return torch.stack(terms).mean()

    def step(self) -> None:
        """``coef`` x the penalty's gradient added to the actor's ``.grad``."""
        if self.opts.previous == 0 or self.opts.weight == 0:
            return
        params = list(self.actor.values())
        with torch.enable_grad():
            loss = self.loss()
            grads = torch.autograd.grad(self.opts.weight * loss, params, allow_unused=True)
        for param, grad in zip(params, grads, strict=True):
            if grad is not None:
                param.grad = grad if param.grad is None else param.grad + grad
        self._target.logger.record_mean(f"continual/{self.opts.method}_penalty", float(loss.detach()))


def create(model: BaseAlgorithm, opts: ContinualOptions | None, seed: int) -> list[OptimizerStepHook]:
    """The callback of ``opts``: a penalty (none for fine-tuning, a first task or no ``continual``) or PackNet's
    masks (:mod:`gymsuite.agents.run.packnet`, every task); a :class:`UserError` for a missing memory or a policy the
    callback cannot reach, before the run starts."""
    if opts is not None and opts.method == "packnet":
        actor = actor_parameters(_actor_critic(model, opts.method))
        previous = read_memory(opts.memory_file(opts.previous - 1)) if opts.previous > 0 else None
        return [PackNetMasks(model, actor, previous, opts.previous, opts.tasks, opts.prune_at)]
    if opts is None or opts.method in ("finetune", "progressive") or opts.previous == 0:
        return []  # progressive: the backbone freezes the earlier columns itself
    return [ContinualPenalty(model, opts, seed)]


def states_array(memory: Mapping[str, Any]) -> np.ndarray:
    """A memory's stored states ``(M, *O)`` as a numpy array (for tests and reports)."""
    return np.asarray(memory["states"].numpy())
