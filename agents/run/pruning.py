"""Compression that keeps the teacher's weights: pruning (of weights or of units) and int8 rounding, and the
fine-tuning after pruning, by the algorithm or taught by the unpruned teacher (:mod:`gymsuite.agents.run.compressing`
calls them; the maths is in :mod:`gymsuite.supervised.compression`).

* weights: global magnitude masks (|w| over the RMS of its layer's surviving weights, each layer keeping a floor:
  :func:`~gymsuite.supervised.compression.magnitude_masks`)
  over the acting network's weights (an actor-critic's own critic layers stay dense: not deployed), so
  the deployed network has exactly the asked sparsity; a pruned run pruned again keeps its zeros (its
  ``masks.npz``); DQN's ``q_net_target`` takes ``q_net``'s masks;
* units (``structured``): per hidden layer of each ``net_arch`` chain the units with the smallest L1 norm of
  incoming weights are removed, and the rest copied, with the next layer's columns, into a policy built with the
  smaller ``net_arch``: a standard SB3 policy;
* int8: every ``Linear`` weight rounded through the dynamic int8 grid; the deployed module is really quantised.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from stable_baselines3 import DQN
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.dqn.policies import DQNPolicy
from torch import nn

from gymsuite.agents.files.maskfile import MASKS_NAME, load_masks
from gymsuite.agents.files.rundir import log_to
from gymsuite.agents.run.callbacks import GradualPruner, Int8Keeper, ProgressBar
from gymsuite.agents.run.distilling import DistillOptions, distill
from gymsuite.agents.saved.loading import LoadedAgent, make_agent_env
from gymsuite.agents.saved.policynets import (
    TARGET_PREFIX,
    ActingNet,
    acting_prefixes,
    check_policy,
    hidden_chains,
    rebuilt,
)
from gymsuite.common.errors import UserError
from gymsuite.supervised import compression as cx


@dataclass
class Compressed:
    """A compressed model, its masks (unstructured pruning), what its config changes, and the deployed module
    measured in its place (int8), with the method's own details for the report."""

    model: BaseAlgorithm
    masks: dict[str, Any] | None = None
    hyperparams: dict[str, Any] = field(default_factory=dict)
    deployed: nn.Module | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _copy(teacher: LoadedAgent) -> BaseAlgorithm:
    """A copy of the teacher's model with its weights."""
    assert teacher.model is not None
    model = rebuilt(teacher.model)
    model.policy.load_state_dict(teacher.model.policy.state_dict())
    return model


def _masks(policy: nn.Module, fraction: float, acting: tuple[str, ...], old: dict[str, Any] | None
           ) -> dict[str, Any]:
    """Global magnitude masks at ``fraction`` over the acting network's weights, so the deployed network has exactly
    that sparsity. An actor-critic's own critic layers stay dense: they are not deployed, and pruning them would
    only weaken the value estimates fine-tuning learns from. DQN's target copies q_net's masks."""
    masks: dict[str, Any] = dict(cx.magnitude_masks(cx.prunable_weights(policy, acting), fraction))
    for name, mask in (old or {}).items():  # a pruned run pruned again keeps its zeros
        if name in masks:
            masks[name] = masks[name] & mask.to(masks[name].device)
    for name in list(masks):
        if name.startswith("q_net."):
            masks[TARGET_PREFIX + name.removeprefix("q_net.")] = masks[name]
    return masks


def _old_masks(teacher: LoadedAgent) -> dict[str, Any] | None:
    """The masks of a pruned teacher run (``masks.npz``), whose zeros a new pruning keeps."""
    path = teacher.run.root / MASKS_NAME if teacher.run is not None else None
    return load_masks(path) if path is not None and path.is_file() else None


def _gradual_masks(teacher: LoadedAgent, model: BaseAlgorithm, target: float) -> cx.GradualMasks:
    """The rising masks of ``model`` (a copy of the teacher's) up to ``target``, from the teacher run's own masks."""
    acting, old = acting_prefixes(check_policy(teacher.model, teacher.algo)), _old_masks(teacher)
    return cx.GradualMasks(model.policy, lambda sparsity: _masks(model.policy, sparsity, acting, old), target, old)


def prune(teacher: LoadedAgent, fraction: float, structured: bool) -> Compressed:
    """Magnitude pruning (unstructured), or units of the ``net_arch`` layers removed (``structured``)."""
    policy = check_policy(teacher.model, teacher.algo)
    if not structured:
        model = _copy(teacher)
        masks = _masks(model.policy, fraction, acting_prefixes(policy), _old_masks(teacher))
        cx.apply_masks(model.policy, masks)
        return Compressed(model, masks, details={"structured": False})
    chains = hidden_chains(policy)
    if not any(c.widths for c in chains):
        raise UserError("--structured removes hidden units of the net_arch layers, and this policy has none",
                        "prune its weights without --structured")
    kept = {c.branch: [cx.keep_top(cx.neuron_scores(layer), fraction) for layer in c.layers[:-1]]
            for c in chains}
    widths = {branch: [len(k) for k in ks] for branch, ks in kept.items()}
    arch: Any = widths["q"] if "q" in widths else {"pi": widths["pi"], "vf": widths["vf"]}
    assert teacher.model is not None
    model = rebuilt(teacher.model, net_arch=arch)
    small = {c.branch: c for c in hidden_chains(check_policy(model, teacher.algo))}
    chain_names = {n for c in chains for layer, w in zip(c.layers, c.names, strict=True)
                   for n in (w, w.removesuffix("weight") + "bias")}
    state = {k: v for k, v in teacher.model.policy.state_dict().items()
             if k not in chain_names and not k.startswith(TARGET_PREFIX)}
    model.policy.load_state_dict(state, strict=False)  # the features extractor, log_std, ...
    for c in chains:
        cx.slice_chain(c.layers, small[c.branch].layers, kept[c.branch])
    if isinstance(model.policy, DQNPolicy):
        model.policy.q_net_target.load_state_dict(model.policy.q_net.state_dict())
    return Compressed(model, hyperparams={"net_arch": arch}, details={"structured": True, "net_arch": arch})


def int8(teacher: LoadedAgent) -> Compressed:
    """Every ``Linear`` weight rounded through int8; the deployed module is really quantised."""
    model = _copy(teacher)
    layers = cx.fake_quantize_int8(model.policy)
    deployed = cx.quantize_dynamic(ActingNet(check_policy(teacher.model, teacher.algo)))
    return Compressed(model, deployed=deployed, details={"quantised_layers": layers})


def finetune(model: BaseAlgorithm, teacher: LoadedAgent, steps: int, seed: int, int8: bool = False) -> None:
    """Train ``model`` for ``steps`` env steps with its own algorithm in the teacher's env (its frozen observation
    normalisation, the env's own reward); with ``int8`` its weights kept on their grid
    (:class:`~gymsuite.agents.run.callbacks.Int8Keeper`: quantisation-aware fine-tuning)."""
    _learn(model, teacher, steps, seed, Int8Keeper(model) if int8 else None)


def prune_gradually(teacher: LoadedAgent, fraction: float, steps: int, seed: int) -> Compressed:
    """Magnitude pruning to ``fraction`` during ``steps`` env steps of the algorithm's own training: the sparsity
    rises over the first half (:class:`~gymsuite.agents.run.callbacks.GradualPruner`), the second fine-tunes at
    it. One-shot pruning of a LunarLander PPO to 92% left a return of -213 that 100,000 steps of fine-tuning did not
    bring back (-437); the course's recipe is to prune a little, fine-tune, and repeat."""
    model = _copy(teacher)
    pruner = GradualPruner(model, _gradual_masks(teacher, model, fraction), ramp=steps // 2)
    _learn(model, teacher, steps, seed, pruner)
    return Compressed(model, pruner.masks, details={"structured": False, "gradual": True})


@dataclass
class _Ramp:
    """Distillation's :class:`~gymsuite.agents.run.distilling.RoundHooks` for gradual pruning: the sparsity rises
    over ``ramp`` env steps, the masks re-applied after every update."""

    masks: cx.GradualMasks
    ramp: int

    def after_round(self, collected: int) -> None:
        self.masks.ramp(collected / max(1, self.ramp))

    def after_update(self) -> None:
        self.masks.apply()


def prune_taught(teacher: LoadedAgent, fraction: float, structured: bool, steps: int, options: DistillOptions
                 ) -> Compressed:
    """Pruning fine-tuned by distillation from the unpruned teacher (``--finetune-by teacher``) for ``steps`` env
    steps (``options``' temperature and seed): on-policy, the pruned policy acting and the teacher labelling
    (:func:`~gymsuite.agents.run.distilling.distill`). Weights: the sparsity rises over the first half, as with
    the algorithm's own training; units (``structured``): the smaller dense policy is taught from the sliced
    weights.

    Why: the algorithm's own training has the env's reward alone to find again what pruning removed. On five
    LunarLander PPO teachers pruned to 93% (BENCHMARKS.md, 2026-12-07), 100,000 steps of PPO ended at -152 (IQM)
    against the teachers' 203; taught by the teacher from the same start, 205: its action on every state is a far
    richer signal than the return."""
    policy = check_policy(teacher.model, teacher.algo)
    hooks: _Ramp | None = None
    if structured:
        result = prune(teacher, fraction, structured=True)
    else:
        model = _copy(teacher)
        masks = _gradual_masks(teacher, model, fraction)
        masks.apply()
        hooks = _Ramp(masks, steps // 2)
        result = Compressed(model, details={"structured": False, "gradual": True})
    assert teacher.model is not None
    venv = make_agent_env(teacher, seed=options.seed, n_envs=max(1, teacher.model.n_envs))
    try:
        # at least 8 rounds, so that the sparsity rises in steps (a short fine-tuning would prune once)
        rounds = dataclasses.replace(options, steps=steps, round_steps=min(options.round_steps, max(1, steps // 8)))
        history = distill(result.model, [policy], venv, rounds, hooks)
    finally:
        venv.close()
    if hooks is not None:
        hooks.masks.prune_to(fraction)
        result.masks = hooks.masks.masks
    if isinstance(result.model.policy, DQNPolicy):  # the target copy follows the taught q_net
        result.model.policy.q_net_target.load_state_dict(result.model.policy.q_net.state_dict())
    result.details["history"] = history
    return result


def _learn(model: BaseAlgorithm, teacher: LoadedAgent, steps: int, seed: int, keeper: BaseCallback | None) -> None:
    """``model.learn(steps)`` in the teacher's env with a progress bar and ``keeper``. DQN explores at its final
    epsilon (its schedule would restart at 1)."""
    venv = make_agent_env(teacher, seed=seed, n_envs=model.n_envs)
    model.tensorboard_log, model.verbose = None, 0
    log_to(model, None)  # the compressed run's files are written by its caller; SB3's own logger would leave a folder
    model.set_random_seed(seed)
    model.set_env(venv)
    if isinstance(model, DQN):
        final = model.exploration_final_eps
        model.exploration_schedule = lambda _: final
    try:
        callbacks: list[BaseCallback] = [ProgressBar(steps), *([keeper] if keeper is not None else [])]
        model.learn(steps, callback=CallbackList(callbacks), reset_num_timesteps=True)
    finally:
        venv.close()
        model.env = None
