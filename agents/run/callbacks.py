"""Training callbacks: progress bar, atomic checkpoints, interruption.

The callbacks are SB3 ``BaseCallback`` subclasses, so they work with every algorithm.
A checkpoint is written under :func:`gymsuite.common.signals.held`: Ctrl-C or SIGTERM arriving
mid-write stops the run once the checkpoint is whole.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from torch.utils.hooks import RemovableHandle
from tqdm import tqdm

from gymsuite.agents.files.normstats import save_stats
from gymsuite.agents.files.replayfile import save_replay
from gymsuite.agents.files.resumestate import save_state
from gymsuite.agents.files.rundir import NORM_SUFFIX, REPLAY_SUFFIX, RunDir
from gymsuite.common.files import atomic_write
from gymsuite.common.signals import held
from gymsuite.supervised.compression import GradualMasks, fake_quantize


class OptimizerHooks(BaseCallback):
    """A callback whose :meth:`before_step` and :meth:`after_step` run around each step of the policy's optimiser
    while the model trains: the one lifecycle of every optimiser hook (registered at the training's start, removed
    at its end); only the methods a subclass overrides are registered.

    SB3 has no hook for an extra loss or a constraint on the weights (users subclass ``train()`` by hand). A
    pre-step hook runs after SB3's ``backward`` and gradient clipping, so it can add a loss's gradient to the one
    about to be applied; a post-step hook sees the updated weights, so it can put them back on a constraint
    (pruning masks, the int8 grid).
    """

    def __init__(self, model: BaseAlgorithm) -> None:
        super().__init__()
        self._target = model
        self._hooks: list[RemovableHandle] = []

    def _on_training_start(self) -> None:
        optimizer = self._target.policy.optimizer
        if type(self).before_step is not OptimizerHooks.before_step:
            self._hooks.append(optimizer.register_step_pre_hook(lambda *_: self.before_step()))
        if type(self).after_step is not OptimizerHooks.after_step:
            self._hooks.append(optimizer.register_step_post_hook(lambda *_: self.after_step()))

    def _on_training_end(self) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks = []

    def _on_step(self) -> bool:
        return True

    def before_step(self) -> None:
        """Just before each optimiser step: the policy's own gradient is in ``.grad``, about to be applied."""

    def after_step(self) -> None:
        """Just after each optimiser step: the weights are updated."""


class OptimizerStepHook(OptimizerHooks):
    """An :class:`OptimizerHooks` whose :meth:`step` adds an extra loss's gradient before each optimiser step (the
    auxiliary auto-encoder loss, SA-PPO's smoothness regulariser, the domain classifier, continual learning's
    penalties)."""

    def before_step(self) -> None:
        self.step()

    def step(self) -> None:
        """Add this callback's gradient (the policy's own is in ``.grad``, about to be applied)."""
        raise NotImplementedError


class GradualPruner(OptimizerHooks):
    """Gradual magnitude pruning while the model trains (Zhu & Gupta 2017; the course's prune, fine-tune, repeat).

    The sparsity rises from 0 to the schedule's target along :func:`~gymsuite.supervised.compression.cubic_sparsity`
    over ``ramp`` env steps: at each rollout's end the masks are recomputed from the current weights (a weight once
    pruned stays pruned: :class:`~gymsuite.supervised.compression.GradualMasks`). After ``ramp`` steps the target's
    masks are kept; the training's end reaches the target in any case.

    The masks are re-applied after every optimiser step: a gradient step (and Adam's momentum) moves a pruned
    weight off zero, and the post-step hook sets it back before the next forward pass, so the fine-tuned policy
    keeps its sparsity (``gymsuite compress --prune F --finetune N --finetune-by algo``).

    Args:
        model: the model being fine-tuned.
        schedule: its policy's masks (names as in ``named_parameters()``), and those that hold from the start (a
            pruned run pruned again).
        ramp: env steps over which the sparsity rises.
    """

    def __init__(self, model: BaseAlgorithm, schedule: GradualMasks, ramp: int) -> None:
        super().__init__(model)
        self.schedule = schedule
        self.ramp = max(1, ramp)
        self._start = 0

    @property
    def masks(self) -> dict[str, th.Tensor]:
        """parameter name -> bool tensor, True where a weight is kept."""
        return self.schedule.masks

    def _on_training_start(self) -> None:
        self._start = self._target.num_timesteps
        self.schedule.apply()
        super()._on_training_start()

    def after_step(self) -> None:
        self.schedule.apply()

    def _on_rollout_end(self) -> None:
        self.schedule.ramp((self._target.num_timesteps - self._start) / self.ramp)

    def _on_training_end(self) -> None:
        self.schedule.prune_to(self.schedule.target)
        super()._on_training_end()


class Int8Keeper(OptimizerHooks):
    """Quantisation-aware fine-tuning: the policy's ``Linear`` weights stay on their int8 grid while it trains.

    The straight-through estimator (Bengio et al. 2013; Jacob et al. 2018): the forward pass and the gradient use
    the rounded weights, the optimiser's step is applied to float master copies (an optimiser pre-step hook puts
    them back, a post-step hook keeps the updated floats and rounds again), so updates smaller than one grid step
    add up instead of vanishing. Only the weights the optimiser updates are kept (DQN's target copy follows them).
    """

    def __init__(self, model: BaseAlgorithm) -> None:
        super().__init__(model)
        self._weights: list[th.Tensor] = []
        self._master: list[th.Tensor] = []

    def _on_training_start(self) -> None:
        optimizer = self._target.policy.optimizer
        trained = {id(p) for group in optimizer.param_groups for p in group["params"]}
        self._weights = [m.weight for m in self._target.policy.modules()
                         if isinstance(m, th.nn.Linear) and id(m.weight) in trained]
        self._master = [w.detach().clone() for w in self._weights]
        self._round()
        super()._on_training_start()

    @th.no_grad()
    def before_step(self) -> None:
        """The float master copies back, for the step."""
        for weight, master in zip(self._weights, self._master, strict=True):
            weight.copy_(master)

    @th.no_grad()
    def after_step(self) -> None:
        """The updated floats kept as masters, the weights rounded again."""
        for weight, master in zip(self._weights, self._master, strict=True):
            master.copy_(weight)
        self._round()

    @th.no_grad()
    def _round(self) -> None:
        for weight, master in zip(self._weights, self._master, strict=True):
            weight.copy_(fake_quantize(master))


class ProgressBar(BaseCallback):
    """A tqdm bar over environment steps showing fps and the mean of the last 100 episode returns.

    The returns are the environment's own (SB3's ``Monitor`` sits inside any
    reward-shaping wrapper), so the bar shows progress on the real task.

    Args:
        total: the step count at which training ends (absolute, also on resume).
        refresh: minimum seconds between bar updates (keeps the per-step cost tiny).
    """

    def __init__(self, total: int, refresh: float = 0.5) -> None:
        super().__init__()
        self.total = total
        self.refresh = refresh
        self.bar: tqdm | None = None
        self._last = 0.0

    def _on_training_start(self) -> None:
        self.bar = tqdm(total=self.total, initial=self.model.num_timesteps, unit="step", dynamic_ncols=True,
                        file=sys.stderr, smoothing=0.1, mininterval=self.refresh)
        self._start_steps, self._start_time = self.model.num_timesteps, time.perf_counter()

    def _on_step(self) -> bool:
        now = time.perf_counter()
        if now - self._last >= self.refresh and self.bar is not None:
            self._last = now
            self._update()
        return True

    def _update(self) -> None:
        assert self.bar is not None
        self.bar.n = self.model.num_timesteps
        self.bar.total = max(self.total, self.bar.n)  # an algorithm that overshoots the budget shows it
        fps = (self.model.num_timesteps - self._start_steps) / max(time.perf_counter() - self._start_time, 1e-9)
        post = {"fps": f"{fps:.0f}"}
        if self.model.ep_info_buffer:
            post["return"] = f"{np.mean([e['r'] for e in self.model.ep_info_buffer]):.1f}"
        self.bar.set_postfix(post, refresh=False)
        self.bar.refresh()

    def _on_training_end(self) -> None:
        if self.bar is not None:
            self._update()
            self.bar.close()
            self.bar = None


def save_checkpoint(model: BaseAlgorithm, run: RunDir, keep: int = 2,
                    extras: dict[str, Callable[[Path], object]] | None = None, at_boundary: bool = False) -> int:
    """Write ``checkpoints/ckpt_<steps>.*`` atomically and prune all but the newest ``keep``.

    The model zip is renamed into place last, so a checkpoint whose zip exists
    is complete (``RunDir.latest_checkpoint`` looks only at zips).
    ``extras`` maps a file suffix (``"_curiosity.pt"``) to a function saving to a path.
    ``at_boundary``: taken between two rollouts, so the resume state includes the envs'
    (see :mod:`gymsuite.agents.files.resumestate`). Returns the step count saved.
    """
    steps = model.num_timesteps
    with held():  # a signal arriving now stops the run once the checkpoint is whole
        _write_checkpoint(model, run, steps, extras, at_boundary)
    zips = sorted(int(p.stem.split("_")[1]) for p in run.checkpoints.glob("ckpt_*.zip"))
    for old in zips[:-keep]:
        for path in run.checkpoints.glob(f"ckpt_{old}[._]*"):
            path.unlink(missing_ok=True)
    return steps


def _write_checkpoint(model: BaseAlgorithm, run: RunDir, steps: int,
                      extras: dict[str, Callable[[Path], object]] | None, at_boundary: bool) -> None:
    try:
        save_state(model, run.checkpoint(steps, "_state.npz"), at_boundary)
        for suffix, save in (extras or {}).items():
            atomic_write(run.checkpoint(steps, suffix), save)
        vecnorm = model.get_vec_normalize_env()
        if vecnorm is not None:
            save_stats(vecnorm, run.checkpoint(steps, NORM_SUFFIX))
        if isinstance(model, OffPolicyAlgorithm) and model.replay_buffer is not None:
            save_replay(model.replay_buffer, run.checkpoint(steps, REPLAY_SUFFIX))
        atomic_write(run.checkpoint(steps), lambda p: model.save(p))
    except BaseException:  # a full disk, Ctrl-C: no parts of a checkpoint without its zip
        if not run.checkpoint(steps).is_file():
            for path in run.checkpoints.glob(f"ckpt_{steps}[._]*"):
                path.unlink(missing_ok=True)
        raise


class Checkpoint(BaseCallback):
    """Save a checkpoint every ``freq`` environment steps (counted across all envs).

    For algorithms that collect rollouts (every SB3 one) a due checkpoint waits for the start of
    the next rollout: there the weights, the envs and ``_last_obs`` agree, and a resume from it
    continues the run exactly. Others (behavioural cloning) checkpoint on the step.

    Args:
        run: the run directory.
        freq: env steps between checkpoints (0: never).
        extras: see :func:`save_checkpoint`.
        min_seconds: skip a due checkpoint taken sooner than this after the previous one.
    """

    def __init__(self, run: RunDir, freq: int, extras: dict[str, Callable[[Path], object]] | None = None,
                 min_seconds: float = 0.0) -> None:
        super().__init__()
        self.run = run
        self.freq = freq
        self.extras = extras
        self.min_seconds = min_seconds
        self._next = 0
        self._last = 0.0
        self._rollouts = False

    def _on_training_start(self) -> None:
        self._next = self.model.num_timesteps + self.freq
        self._last = time.perf_counter()

    def _on_rollout_start(self) -> None:
        self._rollouts = True
        self._save_if_due(at_boundary=True)

    def _on_step(self) -> bool:
        if not self._rollouts:
            self._save_if_due(at_boundary=False)
        return True

    def _save_if_due(self, at_boundary: bool) -> None:
        if self.freq > 0 and self.model.num_timesteps >= self._next:
            self._next = self.model.num_timesteps + self.freq
            if time.perf_counter() - self._last >= self.min_seconds:
                save_checkpoint(self.model, self.run, extras=self.extras, at_boundary=at_boundary)
                self._last = time.perf_counter()
