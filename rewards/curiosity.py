"""Curiosity: an intrinsic reward for *meaningful* novelty, usable with every SB3 algorithm.

Two halves, as every reward that needs a batched network in gymsuite:

* :class:`CuriosityBonus`, an SB3 ``VecEnvWrapper``, adds ``intrinsic_weight * r_int`` to the
  reward at each step (one no-grad forward pass over the N envs) and keeps the transitions;
* :class:`CuriosityCallback`, an SB3 ``BaseCallback``, trains the curiosity model on those
  transitions at rollout end, never inside ``step_wait``. On-policy algorithms end a rollout
  every ``n_steps``; off-policy ones (DQN, SAC) call ``on_rollout_end`` after every
  ``train_freq`` steps, so the callback trains once at least ``update_every`` transitions wait.

:func:`attach` builds both. The true ``s'`` of a finished episode is read from
``infos[i]["terminal_observation"]`` (the returned observation is already the next episode's
first). The environment's reward stays in ``info["env_reward"]``; the bonus added is in
``info["intrinsic_reward"]`` and its episode sum in ``info["episode_intrinsic"]``.

Off-policy caveat: a replay buffer keeps the bonus a transition had when it was collected;
it is not recomputed as the curiosity model learns.

Shapes: N envs, B batch of transitions, O observation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn

from gymsuite.common.datafiles import DamagedFileError, read_torch
from gymsuite.common.errors import UserError, closest_hint
from gymsuite.common.files import write_buffered
from gymsuite.common.options import Rule, option, parse
from gymsuite.rewards.curiosity_models import MODELS, CuriosityModel, action_matrix
from gymsuite.rewards.env_reward import record_env_rewards
from gymsuite.supervised import backbones
from gymsuite.supervised.normalization import DeferredRms, ObsNormalizer


@dataclass(frozen=True)
class CuriosityOptions:
    """Options of :func:`attach` (``--curiosity-kwargs key=value``)."""

    intrinsic_weight: float = option(1.0, "scale of the intrinsic reward added", Rule(float, low=0, finite=True))
    intrinsic_only: bool = option(False, "drop the env reward (Mario without reward)", Rule(bool))
    normalize: bool = option(True, "divide r_int by the running std of intrinsic returns and whiten vector obs (RND)",
                             Rule(bool))
    gamma: float = option(0.99, "discount of the intrinsic returns used to normalise",
                          Rule(float, low=0, high=1, high_open=True, finite=True))
    features: int | None = option(None, "feature size F of the encoder / RND target (default: 32 for icm on "
                                  "vector observations, else 64)", Rule(int, low=1, nullable=True))
    # 64 and 512 (were 128 and 256): the model's update was most of curiosity's cost in steps/s, and it is
    # arithmetic, not overhead; a model as wide as PPO's own nets, in half as many optimiser steps, learns the same
    # in the rewards benchmark (every variant's reach, final return and noisy-TV share within its spread).
    hidden: int = option(64, "hidden width of the MLPs", Rule(int, low=1))
    learning_rate: float = option(1e-3, "Adam step size of the curiosity model",
                                  Rule(float, low=0, low_open=True, finite=True))
    epochs: int = option(2, "passes over the collected transitions per update", Rule(int, low=1))
    batch_size: int = option(512, "minibatch size of the curiosity update", Rule(int, low=1))
    update_every: int = option(256, "train once this many transitions are collected", Rule(int, low=1))
    beta: float = option(0.2, "icm only: forward-loss weight (1-beta: inverse)",
                         Rule(float, low=0, high=1, finite=True))
    seed: int | None = option(None, "seed of the model's initial weights", Rule(int, low=0, nullable=True))
    backbone: str | None = option(None, "the encoder as a named image backbone (gymsuite.supervised.backbones, e.g. "
                                  "small_cnn); default: ICM's CNN for images, an MLP for vectors",
                                  Rule(str, nullable=True))


_METHOD_ONLY = {"beta": "icm"}
# ICM's three MLPs (encoder, inverse and forward models) on vector observations: 32 features halve the arithmetic of
# its update, the larger half of its cost, against 64 (MountainCar: 7,426 against 7,148 steps/s, PPO alone 8,869,
# medians of 3 alternating single runs, 2026-12-06). On the rewards benchmark's tuning seeds (100-104) it learned as
# well: MountainCar 5/5 seeds reached the goal and 100% final success (64: 98%), SparseGrid 5/5 and 100%, and its
# agents watched the noisy TV for 25-26% of their steps (64: 33-36%). RND at 32 lost a MountainCar seed (30% final
# success against 100%), so RND and raw prediction keep 64; so do images, whose CNN encoder is most of the cost.
_ICM_VECTOR_FEATURES, _FEATURES = 32, 64
_FILE, _FILE_FIX = "a curiosity state gymsuite wrote", "delete it to resume with a fresh curiosity model"
_MAX_BUFFER = 65_536  # transitions kept between updates (the most recent)
_STATS_EVERY = 16  # env steps between updates of the running statistics (DeferredRms: same moments, cheaper)


class CuriosityBonus(VecEnvWrapper):
    """Add a curiosity bonus to the reward of every env in ``venv``.

    reward = ``(0 if intrinsic_only else 1) * r_env + intrinsic_weight * r_int / std(R_int)``

    where ``R_int`` is the discounted intrinsic return (non-episodic, as in RND) and the
    division happens only with ``normalize``.

    Args:
        venv: the vectorised env (N envs) with a ``Box`` observation space.
        model: one of :data:`gymsuite.rewards.curiosity_models.MODELS`, built for these spaces.
        options: see :class:`CuriosityOptions`.
        method: the model's name (saved with its state).
    """

    def __init__(self, venv: VecEnv, model: CuriosityModel, options: CuriosityOptions, method: str) -> None:
        super().__init__(venv)
        self.metadata = venv.metadata  # SB3's VecEnvWrapper keeps only render_modes; videos need render_fps
        self.model, self.options, self.method = model, options, method
        assert isinstance(venv.observation_space, spaces.Box), "attach() refuses other spaces"
        self.normalizer = ObsNormalizer(venv.observation_space, options.normalize, update_every=_STATS_EVERY)
        self._numpy_reward = None if self.normalizer.image else model.numpy_reward()
        self.int_stats = DeferredRms((), _STATS_EVERY)  # of the discounted intrinsic returns
        self._returns = np.zeros(self.num_envs)
        self._episode = np.zeros(self.num_envs)
        self._obs: np.ndarray | None = None
        self._actions: np.ndarray | None = None
        self._buffer: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.trained = False  # set by the callback after the first update

    def reset(self) -> VecEnvObs:
        obs = self.venv.reset()
        self._obs = np.array(obs)
        self._episode[:] = 0.0
        self.normalizer.update(self._obs)
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.array(actions)
        self.venv.step_async(actions)

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        next_obs = np.array(obs)  # (N, *O): the true s', not the next episode's first observation
        for done in np.flatnonzero(dones):
            next_obs[done] = infos[done]["terminal_observation"]
        assert self._obs is not None and self._actions is not None, "step() before reset()"
        self.normalizer.update(next_obs)
        self._keep(self._obs, self._actions, next_obs)
        if self.trained:
            intrinsic = self.intrinsic_reward(self._obs, self._actions, next_obs)  # (N,)
            bonus = self.options.intrinsic_weight * self._normalise(intrinsic)
        else:  # an untrained model's error means nothing; meanwhile the obs statistics warm up (RND)
            bonus = np.zeros(self.num_envs)
        extrinsic = 0.0 if self.options.intrinsic_only else rewards
        self._episode += bonus
        record_env_rewards(infos, rewards)
        for i, (info, value) in enumerate(zip(infos, bonus.tolist(), strict=True)):
            info["intrinsic_reward"] = value
            if dones[i]:
                info["episode_intrinsic"] = float(self._episode[i])
                self._episode[i] = 0.0
        self._obs = np.array(obs)
        return obs, (extrinsic + bonus).astype(np.float32), dones, infos

    def intrinsic_reward(self, obs: np.ndarray, actions: np.ndarray, next_obs: np.ndarray) -> np.ndarray:
        """Raw (unnormalised, unweighted) intrinsic reward of transitions ``(B, *O), (B, ...), (B, *O)`` -> ``(B,)``.

        Called at every env step: vector observations go through the model's numpy twin
        (:mod:`gymsuite.supervised.numpy_mlp`, which follows every weight update), images through torch.
        """
        if self._numpy_reward is not None:
            both = self.normalizer.vectors(np.concatenate([obs, next_obs]))  # (2B, O): one call for both halves
            act = action_matrix(actions, self.action_space)
            return self._numpy_reward(both[:len(obs)], act, both[len(obs):]).astype(np.float64)
        return self._torch_reward(obs, actions, next_obs)

    @torch.inference_mode()
    def _torch_reward(self, obs: np.ndarray, actions: np.ndarray, next_obs: np.ndarray) -> np.ndarray:
        if self.model.training:  # eval() walks every submodule: only after an update
            self.model.eval()
        both = self.normalizer(np.concatenate([obs, next_obs]))  # (2B, ...): one call for both halves
        return self.model.reward(both[:len(obs)], actions, both[len(obs):]).numpy().astype(np.float64)

    def _normalise(self, intrinsic: np.ndarray) -> np.ndarray:
        if not self.options.normalize:
            return intrinsic
        # RND: scale by the std of the discounted intrinsic return, so the bonus has a size that
        # does not depend on the model's error scale.
        self._returns = self._returns * self.options.gamma + intrinsic  # a new array: kept by int_stats
        self.int_stats.add(self._returns)
        return intrinsic / np.sqrt(self.int_stats.rms.var + 1e-8)

    def _keep(self, obs: np.ndarray, actions: np.ndarray, next_obs: np.ndarray) -> None:
        self._buffer.append((obs, actions, next_obs))
        if len(self._buffer) * self.num_envs > _MAX_BUFFER:
            self._buffer.pop(0)

    @property
    def buffered(self) -> int:
        """Transitions collected since the last :meth:`take_transitions`."""
        return len(self._buffer) * self.num_envs

    def take_transitions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Remove and return the collected transitions: ``obs (B, *O)``, ``actions (B, ...)``, ``next_obs (B, *O)``."""
        obs, actions, next_obs = (np.concatenate(parts) for parts in zip(*self._buffer, strict=True))
        self._buffer = []
        return obs, actions, next_obs

    def state_dict(self) -> dict[str, Any]:
        """The model weights and the running statistics."""
        self.int_stats.flush()
        rms = self.int_stats.rms
        return {"model": self.model.state_dict(), "normalizer": self.normalizer.state_dict(),
                "int_rms": {"mean": float(rms.mean), "var": float(rms.var), "count": float(rms.count)}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.normalizer.load_state_dict(state["normalizer"])
        rms = state["int_rms"]
        self.int_stats.set(rms["mean"], rms["var"], rms["count"])


class CuriosityCallback(BaseCallback):
    """Train the curiosity model of ``bonus`` at rollout end; save and load its state.

    Args:
        bonus: the wrapper whose transitions and model this callback trains.
    """

    def __init__(self, bonus: CuriosityBonus) -> None:
        super().__init__()
        self.bonus = bonus
        opts = bonus.options
        # foreach: each of Adam's operations once over all parameters, not once per parameter (torch does so on GPUs
        # only by default); MountainCar's ICM update took 9.2 ms against 9.9 (4 minibatches of 512). Not fused=True
        # (8.6 ms): the fused kernel leaves the parameters' version counters alone, so the numpy twin of the
        # reward (supervised/numpy_mlp.py) would never see the update.
        self.optimizer = torch.optim.Adam(bonus.model.parameters(), lr=opts.learning_rate, foreach=True)
        self.rng = np.random.default_rng(opts.seed)
        self.updates = 0

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", ()):
            if "episode_intrinsic" in info:  # logged beside rollout/ep_rew_mean, the env's own return
                self.logger.record_mean("curiosity/ep_intrinsic_mean", info["episode_intrinsic"])
        return True

    def _on_rollout_end(self) -> None:
        if self.bonus.buffered >= self.bonus.options.update_every:
            for key, value in self.update().items():
                self.logger.record(f"curiosity/{key}", value)

    def update(self) -> dict[str, float]:
        """Train on the collected transitions for ``epochs`` passes of shuffled minibatches; return mean losses."""
        obs, actions, next_obs = self.bonus.take_transitions()
        norm = self.bonus.normalizer
        norm.flush()
        obs_t, next_t = norm(obs), norm(next_obs)  # (B, ...) network inputs under the current statistics
        model, opts = self.bonus.model, self.bonus.options
        model.train()
        sums: dict[str, float] = {}
        steps = 0
        for _ in range(opts.epochs):
            order = self.rng.permutation(len(obs))
            for start in range(0, len(order), opts.batch_size):
                idx = order[start:start + opts.batch_size]
                loss, stats = model.loss(obs_t[idx], actions[idx], next_t[idx])
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                steps += 1
                for key, value in stats.items():
                    sums[key] = sums.get(key, 0.0) + value
        self.updates += 1
        self.bonus.trained = True
        out = {key: value / steps for key, value in sums.items()}
        self.bonus.int_stats.flush()
        out["intrinsic_std"] = float(np.sqrt(self.bonus.int_stats.rms.var))
        return out

    def save(self, path: str | Path) -> None:
        """Write the curiosity model, optimiser and statistics to ``path`` (``curiosity.pt``)."""
        state = {"method": self.bonus.method, "options": dataclasses.asdict(self.bonus.options),
                 "optimizer": self.optimizer.state_dict(), "updates": self.updates, **self.bonus.state_dict()}
        write_buffered(Path(path), lambda f: torch.save(state, f))  # a full disk: an OSError, not torch's RuntimeError

    def load(self, path: str | Path) -> None:
        """Restore what :meth:`save` wrote (for ``--resume``).

        Raises:
            UserError: the file is missing, or holds another method or model size.
            DamagedFileError: the file is truncated, garbage, holds pickled objects or lacks a part.
        """
        if not Path(path).is_file():
            raise UserError(f"curiosity state {str(path)!r} does not exist", "resume from a run that used curiosity")
        what, fix = _FILE, _FILE_FIX
        state = read_torch(Path(path), what, fix)
        if not isinstance(state, dict):
            raise DamagedFileError(Path(path), what, f"it holds a {type(state).__name__}, not a mapping", fix)
        if state.get("method") != self.bonus.method:
            raise UserError(f"{path} holds a {state.get('method')!r} curiosity model, not {self.bonus.method!r}",
                            f"resume with --curiosity {state.get('method')}")
        try:
            self.bonus.load_state_dict(state)
            self.optimizer.load_state_dict(state["optimizer"])
            self.updates = int(state.get("updates", 0))
        except RuntimeError as err:  # torch: other shapes or keys
            raise UserError(f"{path} does not fit this curiosity model: {err}",
                            f"resume with the run's curiosity options: {state.get('options')}") from err
        except (KeyError, TypeError, ValueError) as err:  # a mapping without the parts save() writes
            raise DamagedFileError(Path(path), what, f"{type(err).__name__}: {err}", fix) from err
        self.bonus.trained = self.updates > 0


def saved_features(path: str | Path) -> int | None:
    """The feature size F of the curiosity model that ``path`` (``curiosity.pt``) holds; None where it says none.

    For resuming a run whose options leave ``features`` to the default: the default changed (ICM on vectors went
    from 64 to 32), and a run keeps the size it was built with.

    Raises:
        DamagedFileError: the file is truncated, garbage or holds pickled objects.
    """
    state = read_torch(Path(path), _FILE, _FILE_FIX)
    options = state.get("options") if isinstance(state, dict) else None
    features = options.get("features") if isinstance(options, dict) else None
    return features if isinstance(features, int) else None


def attach(venv: VecEnv, method: str, **options: Any) -> tuple[CuriosityBonus, CuriosityCallback]:
    """Wrap ``venv`` with a curiosity bonus; return the wrapped env and the callback that trains it.

    Pass the callback to ``model.learn(callback=...)``; save its state with ``callback.save(path)``.

    Args:
        venv: the vectorised env (``Box`` observations: vectors or uint8 images).
        method: ``"icm"``, ``"rnd"`` or ``"raw"`` (raw next-observation prediction, a baseline
            that a noisy TV distracts).
        **options: fields of :class:`CuriosityOptions`.

    Raises:
        UserError: an unknown method or option, a bad option value, or unsupported spaces.
    """
    name = str(method).lower()
    if name not in MODELS:
        raise UserError(f"unknown curiosity method {method!r}", closest_hint(name, MODELS, "choose one of"))
    opts = _options(name, options)
    if not isinstance(venv.observation_space, spaces.Box):
        raise UserError(f"curiosity needs Box observations, got {venv.observation_space}",
                        "flatten or one-hot the observations with a gymnasium wrapper")
    if not isinstance(venv.action_space, spaces.Discrete | spaces.Box):
        raise UserError(f"curiosity handles Discrete or Box actions, got {venv.action_space}")
    features = opts.features
    if features is None:
        vectors = name == "icm" and not backbones.is_image(venv.observation_space)
        features = _ICM_VECTOR_FEATURES if vectors else _FEATURES
        opts = dataclasses.replace(opts, features=features)  # saved with the model (curiosity.pt's options)
    kwargs: dict[str, Any] = {"features": features, "hidden": opts.hidden}
    if opts.backbone is not None:  # absent by default: saved curiosity models keep their constructor and keys
        backbones.get(opts.backbone)  # an unknown name: the closest one
        kwargs["backbone"] = opts.backbone
    if name == "icm":
        kwargs["beta"] = opts.beta
    with torch.random.fork_rng():  # seeded weights without touching the global RNG
        if opts.seed is not None:
            torch.manual_seed(opts.seed)
        model = MODELS[name](venv.observation_space, venv.action_space, **kwargs)
    bonus = CuriosityBonus(venv, model, opts, name)
    return bonus, CuriosityCallback(bonus)


def _options(method: str, given: dict[str, Any]) -> CuriosityOptions:
    for key in given.keys() & _METHOD_ONLY.keys():
        if method != _METHOD_ONLY[key]:
            raise UserError(f"curiosity option {key!r} applies only to {_METHOD_ONLY[key]}, not {method}",
                            f"drop {key}=...")
    return parse(CuriosityOptions, given, "curiosity option", listing="options")
