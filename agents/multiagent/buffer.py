"""Rollout buffers that leave out the steps of agents that were done: multi-agent PPO's one addition to SB3's buffer.

gymsuite's PettingZoo bridge (``gymsuite.envs.multiagent.bridge.ParallelVecEnv``) gives every agent of every
env copy a slot of a VecEnv. An agent that is done before its copy's episode ends keeps its slot:
the bridge feeds it a placeholder observation, ignores its action, and marks the step with
``info["inactive"] = True`` (reward 0, not done). Those steps are not experience: here they are kept
out of everything PPO computes from the rollout (policy loss, value loss, entropy, the advantage
normalisation of each minibatch, explained variance).

How the mark reaches the buffer: SB3's ``collect_rollouts`` calls ``env.step``, then the callback's
``on_step`` (with the step's ``infos`` in ``locals``), then ``rollout_buffer.add(...)`` at position
``pos``: the infos of step t describe the transition stored at position t. A callback
(:class:`InactiveMarks`) hands each step's marks to the buffer, which stores them with the next
``add``. A callback rather than a VecEnv attribute or an override of ``collect_rollouts``: it is SB3's
own extension point and needs nothing from the bridge but the documented infos. The buffer refuses
an ``add`` without marks, so training without the callback fails loudly instead of learning from
placeholders. The pipeline attaches the callback whenever the model's buffer is a masked one.

GAE stays right for the active steps: an agent's own end is a ``done`` in the bridge, so the last active
step does not bootstrap from the placeholders after it; the buffer also treats every inactive step as an
episode start, so no active step bootstraps from one whatever the env does. The placeholders' own
advantages are garbage and are dropped. ``get`` flattens the rollout as SB3 does and then keeps only
the active rows, so minibatches (and ``rollout_buffer.values``/``returns``, which PPO's explained variance
reads after the epochs) hold active steps alone.

Shapes: T = ``buffer_size`` (``n_steps``), N = ``n_envs`` (slots: copies x agents), M = active rows
after ``get`` (M <= T * N).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.buffers import DictRolloutBuffer, RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.type_aliases import DictRolloutBufferSamples, RolloutBufferSamples

__all__ = ["InactiveMarks", "MaskedDictRolloutBuffer", "MaskedRolloutBuffer", "buffer_class_for", "inactive_of",
           "needs_marks"]

_TENSORS = ("actions", "values", "log_probs", "advantages", "returns")


def inactive_of(infos: Sequence[dict[str, Any]]) -> np.ndarray:
    """``(N,)`` bool: the slots whose action was not used this step (``info["inactive"]``)."""
    return np.array([bool(info.get("inactive", False)) for info in infos], dtype=bool)


class _Masked:
    """The masking shared by :class:`MaskedRolloutBuffer` and :class:`MaskedDictRolloutBuffer` (a mixin
    placed before SB3's class). ``inactive``: ``(T, N)`` bool; ``pending``: the marks of the next ``add``."""

    buffer_size: int
    n_envs: int
    pos: int
    full: bool
    generator_ready: bool
    observations: Any
    episode_starts: np.ndarray
    inactive: np.ndarray
    pending: np.ndarray | None = None

    def mark(self, inactive: np.ndarray) -> None:
        """Set the marks ``(N,)`` bool of the transition the next :meth:`add` stores."""
        self.pending = np.asarray(inactive, dtype=bool).reshape(self.n_envs)

    def reset(self) -> None:
        super().reset()  # type: ignore[misc]
        self.inactive = np.zeros((self.buffer_size, self.n_envs), dtype=bool)
        self.pending = None

    def add(self, *args: Any, **kwargs: Any) -> None:
        if self.pending is None:
            raise RuntimeError(f"{type(self).__name__}.add got a step without its inactive marks: train with the "
                               "gymsuite.agents.multiagent.buffer.InactiveMarks callback (gymsuite's pipeline adds it)")
        self.inactive[self.pos] = self.pending
        self.pending = None
        super().add(*args, **kwargs)  # type: ignore[misc]

    def compute_returns_and_advantage(self, last_values: th.Tensor, dones: np.ndarray) -> None:
        # An inactive step counts as an episode start: the active step before it never bootstraps from it.
        starts = self.episode_starts
        self.episode_starts = np.maximum(starts, self.inactive.astype(np.float32))
        super().compute_returns_and_advantage(last_values, dones)  # type: ignore[misc]
        self.episode_starts = starts

    @property
    def n_active(self) -> int:
        """Active transitions stored so far."""
        return int((~self.inactive[: self.buffer_size if self.full else self.pos]).sum())

    def get(self, batch_size: int | None = None) -> Generator[Any, None, None]:
        """Minibatches of the active transitions only, in a random order (SB3's ``get`` over M rows)."""
        assert self.full, "the rollout is not complete"
        if not self.generator_ready:
            keep = np.flatnonzero(~self.swap_and_flatten(self.inactive))  # type: ignore[attr-defined]
            for name in _TENSORS:
                self.__dict__[name] = self.swap_and_flatten(self.__dict__[name])[keep]  # type: ignore[attr-defined]
            if isinstance(self.observations, dict):
                self.observations = {k: self.swap_and_flatten(v)[keep]  # type: ignore[attr-defined]
                                     for k, v in self.observations.items()}
            else:
                self.observations = self.swap_and_flatten(self.observations)[keep]  # type: ignore[attr-defined]
            self.generator_ready = True
        rows = len(self.values)  # type: ignore[attr-defined]
        indices = np.random.permutation(rows)
        batch_size = batch_size or rows
        for start in range(0, rows, batch_size):
            yield self._get_samples(indices[start: start + batch_size])  # type: ignore[attr-defined]


class MaskedRolloutBuffer(_Masked, RolloutBuffer):
    """SB3's ``RolloutBuffer`` for array observations, leaving out inactive steps (see the module docstring)."""

    def get(self, batch_size: int | None = None) -> Generator[RolloutBufferSamples, None, None]:
        return _Masked.get(self, batch_size)


class MaskedDictRolloutBuffer(_Masked, DictRolloutBuffer):
    """SB3's ``DictRolloutBuffer`` (MAPPO's ``{"obs", "state"}`` observations), leaving out inactive steps."""

    def get(self, batch_size: int | None = None) -> Generator[DictRolloutBufferSamples, None, None]:  # type: ignore[override]
        return _Masked.get(self, batch_size)


#: Both, as the algorithms that train on parallel multi-agent envs declare them (their zips name one).
MASKED_BUFFERS: tuple[type[RolloutBuffer], ...] = (MaskedRolloutBuffer, MaskedDictRolloutBuffer)


def buffer_class_for(space: spaces.Space) -> type[RolloutBuffer]:
    """The masked buffer class for observations in ``space`` (Dict -> :class:`MaskedDictRolloutBuffer`)."""
    return MaskedDictRolloutBuffer if isinstance(space, spaces.Dict) else MaskedRolloutBuffer


def needs_marks(model: BaseAlgorithm) -> bool:
    """Whether ``model`` trains with a masked buffer, which needs the :class:`InactiveMarks` callback."""
    return isinstance(getattr(model, "rollout_buffer", None), _Masked)


class InactiveMarks(BaseCallback):
    """Hands each step's ``info["inactive"]`` marks to a masked rollout buffer (see the module docstring)."""

    def _on_step(self) -> bool:
        buffer = getattr(self.model, "rollout_buffer", None)
        if isinstance(buffer, _Masked):
            buffer.mark(inactive_of(self.locals["infos"]))
        return True
