"""Policy distillation, on-policy (DAgger-style): the student acts, the teachers label what it meets.

Rusu et al. 2016 ("Policy distillation") train a small student on a teacher's outputs with
KL(softmax(q_T / tau) || softmax(q_S)) (:func:`gymsuite.supervised.compression.distillation_loss`). Trained only
on the states the teacher visits, a student drifts into states it has never been taught; DAgger (Ross et al.
2011) fixes that by letting the student act and the teacher label: round 0 is collected by the teacher, every
later round by the student (sampling from its own policy), and every labelled state is kept in an aggregated
dataset (the oldest dropped beyond :data:`MAX_BUFFER_BYTES`) that each round's updates sample from.

An ensemble: the teachers' tempered distributions averaged (one label per state). An actor-critic student also
regresses its value on the first teacher's (when that one has a critic), so the distilled run can be fine-tuned
with its own algorithm.

Shapes: N envs, B batch, O observation as the model sees it, A actions.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.dqn.policies import DQNPolicy
from tqdm import tqdm

from gymsuite.agents.saved.policynets import ActingNet, Policy
from gymsuite.supervised.compression import distillation_loss

MAX_BUFFER_BYTES = 256 * 2**20  # the aggregated dataset's observations (images: about 20,000 at 3x64x64 uint8)


@dataclass(frozen=True)
class DistillOptions:
    """How the student is taught (``gymsuite compress --distill``'s flags).

    Attributes:
        steps: env steps collected in all (teacher's round and the student's).
        temperature: the teachers' softmax temperature (1: their own distribution; below 1 sharper).
        round_steps: env steps per round (labels are aggregated, then ``epochs`` passes' worth of updates).
        epochs: minibatch updates per round, in passes over that round's states.
        batch_size: states per update. learning_rate: Adam's.
        seed: seeds torch's sampling of minibatches and the student's actions.
    """

    steps: int = 50_000
    temperature: float = 1.0
    round_steps: int = 2_048
    epochs: int = 8
    batch_size: int = 256
    learning_rate: float = 1e-3
    seed: int = 0


class RoundHooks(Protocol):
    """What a caller does to the student while it is taught (pruning's masks, :func:`~gymsuite.agents.run.pruning.
    prune_taught`)."""

    def after_round(self, collected: int) -> None:
        """After a round's states are collected (``collected`` env steps so far), before its updates."""

    def after_update(self) -> None:
        """After each optimiser step."""


def _tensor(policy: Policy, obs: np.ndarray) -> th.Tensor:
    """``(B, *O)`` observations on the policy's device."""
    x = policy.obs_to_tensor(obs)[0]
    assert isinstance(x, th.Tensor), "distillation takes array observations"
    return x


def _labels(teachers: Sequence[ActingNet], obs: th.Tensor, temperature: float) -> th.Tensor:
    """``(B, A)``: the ensemble's average of ``softmax(logits / temperature)``, as logits (their log)."""
    with th.no_grad():
        probs = th.stack([th.softmax(t(obs) / temperature, dim=-1) for t in teachers]).mean(dim=0)
    return th.log(probs.clamp_min(1e-12))


def distill(student: BaseAlgorithm, teachers: Sequence[Policy], venv: VecEnv, options: DistillOptions,
            hooks: RoundHooks | None = None) -> list[dict[str, float]]:
    """Teach ``student`` (in place) from ``teachers`` in ``venv`` (the env as the teachers see it); ``hooks`` run
    after each round's collection and after each update.

    Returns one record per round: ``steps`` (collected so far), ``agreement`` (the share of that round's states
    on which the student's greedy action, before the round's updates, equals the ensemble's) and ``kl`` (the
    mean distillation loss of the round's updates).
    """
    th.manual_seed(options.seed)
    policy = student.policy
    assert isinstance(policy, ActorCriticPolicy | DQNPolicy), "check_policy admits these"
    student_net, teacher_nets = ActingNet(policy), [ActingNet(t) for t in teachers]
    for t in teachers:
        t.set_training_mode(False)
    value_teacher = teachers[0] if isinstance(teachers[0], ActorCriticPolicy) else None
    optimizer = th.optim.Adam(policy.parameters(), lr=options.learning_rate)
    seen: list[np.ndarray] = []
    obs = venv.reset()
    history: list[dict[str, float]] = []
    collected, rng = 0, np.random.default_rng(options.seed)
    bar = tqdm(total=options.steps, unit="step", desc="distilling", dynamic_ncols=True, file=sys.stderr,
               mininterval=0.5)
    while collected < options.steps:
        round_obs: list[np.ndarray] = []
        teacher_acts = not history  # round 0: the teacher's states; after it, the student's
        policy.set_training_mode(False)
        while len(round_obs) * venv.num_envs < min(options.round_steps, options.steps - collected):
            assert isinstance(obs, np.ndarray), "distillation takes array observations"
            round_obs.append(obs)
            x = _tensor(policy, obs)
            with th.no_grad():
                if teacher_acts:
                    actions = _labels(teacher_nets, x, options.temperature).argmax(dim=-1)
                else:
                    actions = th.distributions.Categorical(logits=student_net(x)).sample()
            obs, _, _, _ = venv.step(actions.cpu().numpy())
        batch = np.concatenate(round_obs)
        collected += len(batch)
        with th.no_grad():
            x = _tensor(policy, batch)
            agreement = float((student_net(x).argmax(-1) == _labels(teacher_nets, x, 1.0).argmax(-1)).float().mean())
        if hooks is not None:
            hooks.after_round(collected)
        seen.append(batch)
        while sum(b.nbytes for b in seen) > MAX_BUFFER_BYTES and len(seen) > 1:
            seen.pop(0)
        data = np.concatenate(seen)
        policy.set_training_mode(True)
        losses = []
        for _ in range(max(1, options.epochs * len(batch) // options.batch_size)):
            x = _tensor(policy, data[rng.integers(len(data), size=options.batch_size)])
            kl = distillation_loss(student_net(x), [_labels(teacher_nets, x, options.temperature)], 1.0)
            loss = kl
            if value_teacher is not None and isinstance(policy, ActorCriticPolicy):
                with th.no_grad():
                    target = value_teacher.predict_values(x)
                # scale-free, so returns in the hundreds do not drown the KL in a shared features extractor
                loss = loss + th.nn.functional.mse_loss(policy.predict_values(x), target) / (target.pow(2).mean() + 1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if hooks is not None:
                hooks.after_update()
            losses.append(float(kl.detach()))
        history.append({"steps": collected, "agreement": agreement, "kl": float(np.mean(losses))})
        bar.update(len(batch))
        bar.set_postfix({"agreement": f"{agreement:.2f}"}, refresh=False)
    bar.close()
    policy.set_training_mode(False)
    return history
