"""The training pipeline behind ``gymsuite train``: build, train, checkpoint, evaluate.

Order of a run (nothing touches the disk until step 4 succeeds):
  1. validate the config (``gymsuite.agents.run.config``), 2. check a custom env,
  3. build the vectorised env and the model, 4. create the run directory,
  5. learn with progress bar, periodic evaluation and checkpoints,
  6. save ``model.zip`` and evaluate it into ``eval.json``.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize, unwrap_vec_normalize
from torch.distributions import Categorical

from gymsuite.agents.algorithms import registry
from gymsuite.agents.algorithms.spec import TrainContext
from gymsuite.agents.files.normstats import load_stats, save_stats
from gymsuite.agents.files.replayfile import load_replay
from gymsuite.agents.files.replaymemory import check_replay_fits
from gymsuite.agents.files.resumestate import load_state, read_state
from gymsuite.agents.files.rundir import (
    AUX_SUFFIX,
    DOMAIN_SUFFIX,
    LEGACY_NORM_SUFFIX,
    LEGACY_REPLAY_SUFFIX,
    NORM_SUFFIX,
    REPLAY_SUFFIX,
    RunDir,
    default_run_dir,
    log_to,
    newest_loadable,
)
from gymsuite.agents.files.safeload import SCHEDULES, keep_description
from gymsuite.agents.multiagent.buffer import InactiveMarks, needs_marks
from gymsuite.agents.run import adversarial, continual
from gymsuite.agents.run.adversarial import robust_options
from gymsuite.agents.run.auxiliary import AuxTrainer, init_backbone
from gymsuite.agents.run.callbacks import Checkpoint, ProgressBar, save_checkpoint
from gymsuite.agents.run.config import RunConfig, to_dict
from gymsuite.agents.run.domain import DomainAdversary, domain_options
from gymsuite.agents.run.options import RunOptions, run_options
from gymsuite.agents.run.policycheck import check_rollout_fits
from gymsuite.agents.run.randomizing import AdrSync, RandomizeLogger
from gymsuite.agents.run.resolved import ResolvedRun, model_kwargs, resolve, rollout_size
from gymsuite.agents.saved.evaluation import evaluate, pooled
from gymsuite.agents.saved.experts import load_expert
from gymsuite.agents.saved.loading import LoadedAgent, as_model_sees, load_model_file, make_agent_env
from gymsuite.common.errors import UserError
from gymsuite.common.files import atomic_write, read_yaml, write_json, write_yaml
from gymsuite.common.signals import StopSignals
from gymsuite.envs.factory import is_custom, make_env, make_native_atari
from gymsuite.envs.observation import EnvOptions
from gymsuite.envs.target import EnvKind, resolve_env
from gymsuite.envs.wrappers import ActiveVecNormalize
from gymsuite.rewards.clipping import ClipReward, VecClipReward
from gymsuite.rewards.curiosity import CuriosityCallback, saved_features
from gymsuite.supervised.distributions import unchecked

EVAL_ENVS = 5
CONFIRM_ENVS = 16  # at most, for --target-return's confirmations (eval_episodes each)


@dataclass
class RunContext(TrainContext):
    """The :class:`TrainContext` the pipeline builds, with its own config and run-directory types."""

    cfg: RunConfig
    run: RunDir
    aux: AuxTrainer | None = None  # the auxiliary loss's trainer when ``aux`` is set (it saves and loads its decoder)
    domain: DomainAdversary | None = None  # the domain classifier when ``domain_adversarial`` is set


@dataclass
class TrainResult:
    run: RunDir
    eval: dict[str, Any]
    steps: int
    seconds: float
    interrupted: bool = False
    signum: int = 0  # the signal that interrupted the run: SIGINT (Ctrl-C) or SIGTERM


class EvalListener(BaseCallback):
    """An extra callback of ``train(callbacks=...)`` that also hears each periodic evaluation (tuning's pruning)."""

    def _on_step(self) -> bool:
        return True

    def on_evaluation(self, steps: int, result: dict[str, Any]) -> bool:
        """Called after each periodic evaluation at ``steps`` env steps; False stops the training (the final
        evaluation and ``eval.json`` still follow)."""
        return True


class TargetReturn(EvalListener):
    """``--target-return R``: stop the training at the first periodic evaluation whose mean return reaches ``R``;
    ``reached`` is then ``(env steps, seconds of training)`` at that evaluation (``eval.json``'s
    ``target_steps``/``target_seconds``). The model saved is the one evaluated. :class:`PeriodicEval` confirms
    an evaluation that reaches ``R`` with more episodes before this listener hears it (``confirm``)."""

    def __init__(self, target: float) -> None:
        super().__init__()
        self.target = target
        self.reached: tuple[int, float] | None = None
        self._start = 0.0

    def _on_training_start(self) -> None:
        self._start = time.perf_counter()

    def on_evaluation(self, steps: int, result: dict[str, Any]) -> bool:
        if result["mean_return"] >= self.target:
            self.reached = (steps, time.perf_counter() - self._start)
            return False
        return True

    def report(self) -> dict[str, Any]:
        """The target's entries of ``eval.json``."""
        steps, seconds = self.reached if self.reached is not None else (None, None)
        return {"target_return": self.target, "target_reached": self.reached is not None, "target_steps": steps,
                "target_seconds": None if seconds is None else round(seconds, 2)}


class PeriodicEval(BaseCallback):
    """Every ``freq`` env steps, evaluate on the env's own reward and keep ``best_model.zip``; each result goes to
    the ``listeners`` too, any of which may stop the training.

    ``confirm=(R, K)``: an evaluation whose mean return reaches ``R`` plays ``K`` more episodes, and the result is
    over all ``episodes + K`` (:func:`pooled`). Why: ``--target-return`` stops the run there, and 5 episodes can
    flatter a policy that solves most starts but not all. On Pendulum-v1, runs stopped at a 5-episode mean above
    -200 scored -500 to -700 on their next 5 episodes (starts left hanging at -1,500), so a time to "solved" on
    5 episodes would time luck. The ``K`` episodes play on ``confirm_env`` (default ``agent_env``), whose envs side
    by side play them in one round rather than ``K / 5``: a CartPole confirmation of 10 solved episodes took 216 ms
    on the 5 envs and 132 ms on 10 (medians of 7, 2026-12-06), and it is in every time to a solved agent.

    A policy is evaluated once: an evaluation that falls due while the policy is unchanged since the last one (an
    on-policy rollout longer than ``freq``: PPO on PixelCartPole collects 16,384 steps between updates, so an
    evaluation every 2,048 would play the same policy 8 times) waits for the next update (``_n_updates``). Playing
    it again would spend the time of an evaluation on a known answer and, under ``--target-return``, give one policy
    several draws at the target. A learner that steps the policy outside SB3's ``train`` counts its updates there too
    (imitation's BC and DAgger trainers: :mod:`gymsuite.agents.algorithms.imitation_learners`).
    """

    def __init__(self, agent_env: VecEnv, run: RunDir, freq: int, episodes: int = 5,
                 listeners: Sequence[EvalListener] = (), confirm: tuple[float, int] | None = None,
                 confirm_env: VecEnv | None = None) -> None:
        super().__init__()
        self.eval_env, self.run, self.freq, self.episodes = agent_env, run, freq, episodes
        self.listeners = list(listeners)
        self.confirm = confirm
        self.confirm_env = agent_env if confirm_env is None else confirm_env
        self.best = -np.inf
        self._next = 0
        self._evaluated: int | None = None  # the ``_n_updates`` of the policy last evaluated

    def _on_training_start(self) -> None:
        self._next = self.model.num_timesteps + self.freq

    def _on_step(self) -> bool:
        if self.freq <= 0 or self.model.num_timesteps < self._next:
            return True
        updates = self.model._n_updates  # SB3's count of training updates (BaseAlgorithm keeps it for every algorithm)
        if updates == self._evaluated:
            return True  # due, but the policy is the one evaluated last: evaluate after its next update
        self._next, self._evaluated = self.model.num_timesteps + self.freq, updates
        _sync_normalization(self.model, self.eval_env)
        agent = LoadedAgent(self.model, "", None)
        result = evaluate(agent, self.eval_env, self.episodes)
        if self.confirm is not None and result["mean_return"] >= self.confirm[0]:
            _sync_normalization(self.model, self.confirm_env)
            result = pooled(result, evaluate(agent, self.confirm_env, self.confirm[1]))
        self.logger.record("eval/mean_return", result["mean_return"])
        self.logger.record("eval/mean_length", result["mean_length"])
        self.logger.record("eval/capped_episodes", result["capped_episodes"])
        if result["mean_return"] > self.best:
            self.best = result["mean_return"]
            atomic_write(self.run.best_model, lambda p: self.model.save(p))
        return all([listener.on_evaluation(int(self.model.num_timesteps), result) for listener in self.listeners])


def _sync_normalization(model: BaseAlgorithm, eval_env: VecEnv) -> None:
    train_norm, eval_norm = model.get_vec_normalize_env(), unwrap_vec_normalize(eval_env)
    if train_norm is not None and eval_norm is not None:
        eval_norm.obs_rms = train_norm.obs_rms.copy()


def _build_env(cfg: RunConfig, spec: registry.AlgoSpec,
               options: RunOptions) -> tuple[VecEnv, CuriosityCallback | None]:
    """The training env: the one place that decides the order of the reward wrappers.

    From the env outwards::

        VecNormalize(CuriosityBonus(VecFiniteGuard(VecEnv([
            TermShaping(LearnedReward(AbsorbAfterTermination(Monitor(env)))), ...]))))

    ``Monitor`` sits inside every reward wrapper (``make_env``), so logged and evaluated
    returns are the env's own. The learned reward comes first, with the absorbing states it
    was trained with; the shaping terms add "our own constraints" on top of it. Curiosity
    needs the batch of N envs, so it wraps the ``VecEnv``; ``VecNormalize``, outermost,
    scales the reward the agent finally trains on. The innermost reward wrapper records
    ``info["env_reward"]`` (:mod:`gymsuite.rewards.env_reward`); the others keep it.
    """
    reward_wrappers = []
    if cfg.learned_reward:  # first, so that shaping terms add "our own constraints" on top of it
        from gymsuite.rewards.learned import learned_reward_wrappers

        reward_wrappers += learned_reward_wrappers(cfg.learned_reward, **cfg.learned_reward_kwargs)
    if cfg.shaping is not None:
        from gymsuite.rewards.shaping import load_shaping

        reward_wrappers += load_shaping(cfg.shaping, options.discount)
    venv = _atari_env(cfg, options.env, reward_wrappers) if resolve_env(cfg.env).kind is EnvKind.ATARI else None
    if venv is None:
        venv = make_env(cfg.env, n_envs=cfg.n_envs, seed=cfg.seed, options=options.env,
                        reward_wrappers=reward_wrappers)
    registry.check_action_space(spec, venv.action_space, cfg.env)
    curiosity = None
    if cfg.curiosity:
        from gymsuite.rewards.curiosity import attach

        venv, curiosity = attach(venv, cfg.curiosity, **cfg.curiosity_kwargs)
    if options.normalize is not None:
        venv = ActiveVecNormalize(venv, **options.normalize)  # statistics from active slots (multi-agent)
    return venv, curiosity


def _atari_env(cfg: RunConfig, options: EnvOptions, reward_wrappers: list) -> VecEnv | None:
    """An Atari run's env on ale-py's native vector env when the run allows it, else None (and clipping added).

    The native env (:mod:`gymsuite.envs.atari_vector`) cannot take per-env gymnasium wrappers (shaping, a learned
    reward), env kwargs or episodic life; those runs use the per-env wrappers of :mod:`gymsuite.envs.atari`.
    Reward clipping is the innermost reward wrapper, so ``info["env_reward"]`` is the game's reward.
    """
    opts = options.atari
    native = opts.native and not (reward_wrappers or options.env_kwargs or opts.episodic_life)
    path = "ale-py's native vector env" if native else "gymnasium wrappers per env"
    print(f"note: {cfg.env} runs on {path} ({cfg.n_envs} envs)", file=sys.stderr)
    if native:
        venv = make_native_atari(cfg.env, cfg.n_envs, cfg.seed, options)
        return VecClipReward(venv) if opts.clip_reward else venv
    if opts.clip_reward:
        reward_wrappers.insert(0, ClipReward)
    return None


def _build_model(resolved: ResolvedRun, spec: registry.AlgoSpec, venv: VecEnv) -> BaseAlgorithm:
    """The model of ``resolved``: its policy and constructor kwargs."""
    try:
        model = spec.make_model(resolved.policy, venv, dict(resolved.model_kwargs), resolved.config.hyperparams)
    except (TypeError, ValueError, AssertionError, KeyError, RuntimeError) as err:  # RuntimeError: net_arch [-1]
        kwargs = {k: v for k, v in resolved.model_kwargs.items() if k not in ("seed", "verbose")}
        raise UserError(f"could not build {spec.name} with hyperparameters {kwargs}: {err}",
                        "check the values of --hyperparams / the config file") from err
    rollout = rollout_size(type(model), resolved.model_kwargs, venv.num_envs)
    if rollout is not None:  # the budget was rounded from the rollout the model really has
        assert rollout == (model.n_steps, model.n_envs), (rollout, model.n_steps, model.n_envs)  # type: ignore[attr-defined]
    return model


@dataclass
class Prepared:
    """What :func:`prepare` builds: the algorithm, its env and model, and the plug-ins that train beside it."""

    spec: registry.AlgoSpec
    venv: VecEnv
    model: BaseAlgorithm
    resolved: ResolvedRun
    curiosity: CuriosityCallback | None = None
    aux: AuxTrainer | None = None
    domain: DomainAdversary | None = None


def prepare(cfg: RunConfig) -> Prepared:
    """Steps 1-3: everything that can fail on bad input, before the run directory exists; the run resolved.

    ``cfg`` is not changed: the defaults decided here (the backbone of an image observation, the budget rounded to
    whole rollouts) go into a new config, :attr:`Prepared.resolved`'s, the one ``config.yaml`` saves.

    A ``backbone_init`` encoder is loaded here, after the model is built (SB3's ``ortho_init`` has
    re-initialised the extractor by then), and the ``aux`` decoder is built.
    """
    torch.set_num_threads(cfg.threads)
    spec = registry.get(cfg.algo)
    options = run_options(cfg.hyperparams, cfg.env, spec.discount(cfg.hyperparams))
    if is_custom(cfg.env):
        from gymsuite.envs.check import require_fitting_shapes, require_valid

        if cfg.check_env:
            require_valid(cfg.env, dict(options.env.env_kwargs))
        else:  # the one check SB3 cannot do without: it sizes its buffers from the declared space
            require_fitting_shapes(cfg.env, dict(options.env.env_kwargs))
    venv, curiosity = _build_env(cfg, spec, options)
    try:
        spec.check_built_run(cfg, venv)  # e.g. imitation's demonstrations fit the env's spaces
        check_rollout_fits(spec, cfg.hyperparams, venv.observation_space, venv.action_space, venv.num_envs)
        resolved = resolve(cfg, spec, venv, options)
        cfg = resolved.config  # with the defaults decided in resolution; the caller's cfg is not changed
        if issubclass(spec.cls, OffPolicyAlgorithm):  # before SB3 allocates it (lazily: it would fail mid-run)
            space = as_model_sees(venv).observation_space
            check_replay_fits(cfg.hyperparams, space, venv.action_space)
        model = _build_model(resolved, spec, venv)
        keep_description(model, spec.name)  # so that its saves load without unpickling, and tell their algorithm
        log_to(model, None)  # a prepared model trained outside train() (meta-learning's inner loop) logs nowhere
        if resolved.options.aux.backbone_init:
            init_backbone(model, resolved.options.aux.backbone_init)
        aux = AuxTrainer.create(model, resolved.options.aux, cfg.seed)
        adversarial.create(model, resolved.options.robust, cfg.seed)  # refuses discrete observations, before writing
        continual.init_from_previous(model, resolved.options.continual)  # the previous task's policy
        continual.create(model, resolved.options.continual, cfg.seed)  # its memories readable, before writing
        adversary = DomainAdversary.create(model, domain_options(cfg.hyperparams), spec.name, cfg.env,
                                  cfg.hyperparams, cfg.seed)  # refuses a non-image backbone or a foreign target
    except BaseException:
        venv.close()
        raise
    return Prepared(spec, venv, model, resolved, curiosity, aux, adversary)


def train(cfg: RunConfig, run_dir: str | Path | None = None, overwrite: bool = False,
          callbacks: Sequence[BaseCallback] = (), trust_pickle: bool = False) -> TrainResult:
    """Train a new run described by ``cfg``; see the module docstring for the order of steps.

    Args:
        cfg: the validated run config (``gymsuite.agents.run.config.build_config``).
        run_dir: where the run goes (default: ``runs/<algo>-<env>-s<seed>``).
        overwrite: replace an existing run directory.
        callbacks: extra SB3 callbacks appended after the run's own (progress bar, checkpoints,
            evaluation, reward plug-ins), e.g. a benchmark's learning-curve recorder. They only
            observe the run: what they keep is not saved with it, and ``resume`` does not get them.
        trust_pickle: an expert (``--expert``) may be loaded by unpickling (``--trust-pickle``).
    """
    built = prepare(cfg)
    spec, venv, model, curiosity, aux = built.spec, built.venv, built.model, built.curiosity, built.aux
    cfg = built.resolved.config  # with the defaults decided in resolution; the caller's cfg is not changed
    run = RunDir(Path(run_dir) if run_dir else default_run_dir(spec.name, cfg.env, cfg.seed))
    existed = run.root.exists()
    try:
        run.create(overwrite=overwrite)
        write_yaml(run.config, to_dict(cfg))
    except BaseException:
        venv.close()
        if not existed and run.root.is_dir():  # e.g. the disk filled up while writing config.yaml
            shutil.rmtree(run.root, ignore_errors=True)
        raise
    ctx = RunContext(cfg, spec, venv, model, run, [], curiosity, trust_pickle, load_expert=load_expert,
                     env_options=built.resolved.env_options, aux=aux, domain=built.domain)
    try:
        return _learn(ctx, extra_callbacks=callbacks)
    except Exception:
        if run.latest_checkpoint() is None:  # failed before anything worth keeping
            shutil.rmtree(run.root, ignore_errors=True)
        raise


def train_or_resume(cfg: RunConfig, run_dir: Path, callbacks: Sequence[BaseCallback] = ()) -> TrainResult | None:
    """Train the run at ``run_dir``, resume it from its checkpoint, or None when it finished before (a step of a
    resumable sequence: continual learning's tasks, meta-learning's runs)."""
    run = RunDir(run_dir)
    if run.model.is_file() and run.eval.is_file():
        return None
    if run.is_run() and run.latest_checkpoint() is not None:
        return resume(run_dir)
    if run_dir.exists():
        shutil.rmtree(run_dir)  # started, but stopped before its first checkpoint
    return train(cfg, run_dir, callbacks=callbacks)


def resume(run_dir: str | Path, trust_pickle: bool = False) -> TrainResult:
    """Continue a run from its newest checkpoint, at that checkpoint's step count.

    ``trust_pickle`` lets the checkpoint, its normaliser statistics and an expert load by unpickling
    (older runs, ``--trust-pickle``).
    """
    run = RunDir(Path(run_dir))
    if not run.is_run():
        raise UserError(f"{run_dir} is not a run directory (no config.yaml)", "pass the directory train.py created")
    data = read_yaml(run.config)
    try:
        cfg = RunConfig(**data)
    except TypeError as err:
        raise UserError(f"{run.config} does not describe a gymsuite run: {err}") from err
    run.clean()  # temporaries and half checkpoints that a kill left
    if run.latest_checkpoint() is None:
        raise UserError(f"{run.root} has no checkpoint to resume from", "train it again with --overwrite")
    torch.set_num_threads(cfg.threads)
    spec = registry.get(cfg.algo)
    options = run_options(cfg.hyperparams, cfg.env, spec.discount(cfg.hyperparams))
    loaded = newest_loadable(run, lambda steps: _load_checkpoint(cfg, spec, options, run, steps, trust_pickle))
    ctx = RunContext(cfg, spec, loaded.venv, loaded.model, run, [], loaded.curiosity, trust_pickle,
                     load_expert=load_expert, env_options=options.env, aux=loaded.aux, domain=loaded.domain)
    return _learn(ctx, resumed=True, restore=loaded.restore)


@dataclass
class _Loaded:
    """A checkpoint loaded whole: the env and model (its side files applied), and the resume state to restore last."""

    venv: VecEnv
    model: BaseAlgorithm
    curiosity: CuriosityCallback | None
    aux: AuxTrainer | None
    restore: Callable[[], object] | None
    domain: DomainAdversary | None = None


def _curiosity_as_saved(cfg: RunConfig, path: Path) -> RunConfig:
    """``cfg`` with the feature size of the curiosity model saved at ``path`` where the run left it to the default,
    which changed (ICM on vectors: 64, then 32); the run's ``config.yaml`` is not changed."""
    if not cfg.curiosity or "features" in cfg.curiosity_kwargs or not path.is_file():
        return cfg
    features = saved_features(path)
    return cfg if features is None else replace(cfg, curiosity_kwargs={**cfg.curiosity_kwargs, "features": features})


def _load_checkpoint(cfg: RunConfig, spec: registry.AlgoSpec, options: RunOptions, run: RunDir, steps: int,
                     trust_pickle: bool) -> _Loaded:
    """Checkpoint ``steps`` of ``run`` with every side file it has, on a new env (closed again if a file fails).

    Raises:
        DamagedFileError: the zip or a side file cannot be read (``newest_loadable`` then tries an earlier checkpoint).
    """
    venv, curiosity = _build_env(_curiosity_as_saved(cfg, run.checkpoint(steps, "_curiosity.pt")), spec, options)
    try:
        norm_file, legacy = run.checkpoint(steps, NORM_SUFFIX), run.checkpoint(steps, LEGACY_NORM_SUFFIX)
        if isinstance(venv, VecNormalize) and (norm_file.is_file() or legacy.is_file()):
            venv = load_stats(norm_file, venv.venv, legacy, trust_pickle, cls=ActiveVecNormalize)
        model = load_model_file(spec.model_class(cfg.hyperparams), run.checkpoint(steps), trust_pickle,
                                _resumed_values(spec, cfg, options))
        model.set_env(venv)
        keep_description(model, spec.name)
        state = run.checkpoint(steps, "_state.npz")  # randomness, counters, envs: see resumestate
        saved = read_state(state) if state.is_file() else None
        replay, legacy_replay = run.checkpoint(steps, REPLAY_SUFFIX), run.checkpoint(steps, LEGACY_REPLAY_SUFFIX)
        if isinstance(model, OffPolicyAlgorithm) and model.replay_buffer is not None and replay.is_file():
            load_replay(replay, model.replay_buffer)
        elif isinstance(model, OffPolicyAlgorithm) and legacy_replay.is_file():
            if not trust_pickle:
                raise UserError(f"{legacy_replay} is a pickled replay buffer (an older gymsuite's format), which "
                                "gymsuite does not load: unpickling runs whatever code the file carries",
                                "if you trust the run, pass --trust-pickle; or delete the file to resume with an "
                                "empty replay buffer")
            model.load_replay_buffer(legacy_replay)
        if curiosity is not None and run.checkpoint(steps, "_curiosity.pt").is_file():
            curiosity.load(run.checkpoint(steps, "_curiosity.pt"))
        aux = AuxTrainer.create(model, options.aux, cfg.seed)  # backbone_init is not reloaded: the weights are here
        if aux is not None and run.checkpoint(steps, AUX_SUFFIX).is_file():
            aux.load(run.checkpoint(steps, AUX_SUFFIX))
        adversary = DomainAdversary.create(model, domain_options(cfg.hyperparams), spec.name, cfg.env,
                                  cfg.hyperparams, cfg.seed)
        if adversary is not None and run.checkpoint(steps, DOMAIN_SUFFIX).is_file():
            adversary.load(run.checkpoint(steps, DOMAIN_SUFFIX))
    except BaseException:
        venv.close()
        raise
    restore = (lambda: load_state(model, saved)) if saved is not None else None
    return _Loaded(venv, model, curiosity, aux, restore, adversary)


def _resumed_values(spec: registry.AlgoSpec, cfg: RunConfig, options: RunOptions) -> dict[str, Any]:
    """The schedules and ``train_freq`` of ``cfg``: a checkpoint stores them pickled, so the safe loader takes them
    from the run's config (``lin_X`` is plain data there) rather than from the file."""
    _, kwargs = model_kwargs(spec, cfg, options.model)
    return {k: v for k, v in kwargs.items() if k in {*SCHEDULES, "train_freq"}}


def _learn(ctx: RunContext, resumed: bool = False, extra_callbacks: Sequence[BaseCallback] = (),
           restore: Callable[[], object] | None = None) -> TrainResult:
    cfg, run, model = ctx.cfg, ctx.run, ctx.model
    csv = run.logs / "progress.csv"
    if resumed and csv.is_file():  # SB3 truncates progress.csv: keep the earlier segment
        csv.rename(run.logs / f"progress_until_{model.num_timesteps}.csv")
    log_to(model, run)
    every = max(cfg.timesteps // 10, 1)
    # Evaluation episodes run side by side, so the policy acts on batches (5x fewer forward passes).
    eval_env = _eval_env(cfg, model, cfg.seed + 10_000, EVAL_ENVS)
    # --target-return: its confirmations and the final evaluation, eval_episodes each, in one round of envs
    confirm_env = None if cfg.target_return is None else _eval_env(
        cfg, model, cfg.seed + 20_000, min(cfg.eval_episodes, CONFIRM_ENVS))
    eval_freq = every if cfg.eval_freq < 0 else cfg.eval_freq
    ckpt_freq = every if cfg.checkpoint_freq < 0 else cfg.checkpoint_freq
    # A checkpoint costs tens of milliseconds; by default short runs take one at most every 30 s.
    ckpt_gap = 30.0 if cfg.checkpoint_freq < 0 else 0.0
    extras: dict[str, Callable[[Path], object]] = {}
    if ctx.curiosity is not None:
        extras["_curiosity.pt"] = ctx.curiosity.save
    if ctx.aux is not None:
        extras[AUX_SUFFIX] = ctx.aux.save
    if cfg.target_return is not None:
        extra_callbacks = [TargetReturn(cfg.target_return), *extra_callbacks]
    if ctx.domain is not None:
        extras[DOMAIN_SUFFIX] = ctx.domain.save
    callbacks = [ProgressBar(cfg.timesteps), Checkpoint(run, ckpt_freq, extras or None, ckpt_gap),
                 PeriodicEval(eval_env, run, eval_freq,
                              listeners=[c for c in extra_callbacks if isinstance(c, EvalListener)],
                              confirm=None if cfg.target_return is None else (cfg.target_return, cfg.eval_episodes),
                              confirm_env=confirm_env)]
    if needs_marks(model):
        callbacks.append(InactiveMarks())  # each step's done-agent marks to the buffer
    if ctx.curiosity is not None:
        callbacks.append(ctx.curiosity)
    if ctx.aux is not None:
        callbacks.append(ctx.aux)
    if ctx.domain is not None:
        callbacks.append(ctx.domain)
    callbacks += adversarial.create(model, robust_options(cfg.hyperparams), cfg.seed)  # adversarial, smooth
    callbacks += continual.create(model, continual.continual_options(cfg.hyperparams), cfg.seed)  # ewc, l2, replay
    if cfg.shaping is not None:
        from gymsuite.rewards.shaping import ShapingLogger

        callbacks.append(ShapingLogger())  # shaping/<term>: each term's episode sum, beside the env's return
    randomize = ctx.env_options.randomize
    if randomize is not None:
        callbacks.append(RandomizeLogger(run.logs))  # randomize/<name> and logs/randomize.csv
        if randomize.adr is not None:  # one ADR for all env copies, decided at each rollout's end
            callbacks.append(AdrSync(randomize.adr))
    callbacks += extra_callbacks
    ctx.callbacks = callbacks
    with StopSignals() as stop:  # SIGTERM interrupts like Ctrl-C, never mid-write (see common/signals)
        if restore is not None:  # last, just before learning: it sets the global random generators
            restore()
        return _learn_steps(ctx, callbacks, [eval_env] if confirm_env is None else [eval_env, confirm_env],
                            extras or None, resumed, stop)


def _eval_env(cfg: RunConfig, model: BaseAlgorithm, seed: int, n_envs: int) -> VecEnv:
    """An env of ``n_envs`` side by side for the run's evaluations (its normalisation statistics copied in later)."""
    return make_agent_env(LoadedAgent(None, cfg.algo, cfg.env, None, cfg.hyperparams), seed=seed, n_envs=n_envs,
                          max_episode_steps=cfg.eval_max_episode_steps,
                          normalize=model.get_vec_normalize_env() is not None)


def _learn_steps(ctx: RunContext, callbacks: list[BaseCallback], eval_envs: list[VecEnv],
                 extras: dict[str, Callable[[Path], object]] | None, resumed: bool, stop: StopSignals) -> TrainResult:
    """Learn the remaining steps, save, and evaluate ``eval_episodes`` episodes on the last of ``eval_envs`` (the
    widest); every one of them is closed."""
    cfg, run, model = ctx.cfg, ctx.run, ctx.model
    eval_env = eval_envs[-1]
    remaining = cfg.timesteps - model.num_timesteps
    start, start_steps, interrupted = time.perf_counter(), model.num_timesteps, False
    try:
        # A discrete policy's distribution unchecked (supervised/distributions.py): a non-finite logit still stops
        # the run, in sampling; a continuous one stays checked, since a NaN mean would otherwise act silently.
        if remaining > 0:
            with unchecked(Categorical):
                if ctx.spec.learn is not None:
                    ctx.spec.learn(model, remaining, CallbackList(callbacks), ctx)
                else:
                    model.learn(remaining, callback=CallbackList(callbacks), reset_num_timesteps=not resumed,
                                progress_bar=False, log_interval=_log_interval(model))
    except KeyboardInterrupt:
        interrupted = True
        stop.interrupted()
    finally:
        callbacks[0]._on_training_end()  # close the bar even when interrupted
    seconds = time.perf_counter() - start
    _save_final(ctx)
    if interrupted:
        save_checkpoint(model, run, extras=extras)
        for env in eval_envs:
            env.close()
        return TrainResult(run, {}, model.num_timesteps, seconds, interrupted=True, signum=stop.signum)
    _sync_normalization(model, eval_env)
    result = evaluate(LoadedAgent(model, cfg.algo, cfg.env), eval_env, cfg.eval_episodes)
    result.update({"timesteps": int(model.num_timesteps), "train_seconds": round(seconds, 2),
                   "train_fps": round((model.num_timesteps - start_steps) / max(seconds, 1e-9), 1),
                   "seed": cfg.seed})
    target = next((c for c in callbacks if isinstance(c, TargetReturn)), None)
    if target is not None:
        result.update(target.report())
    write_json(run.eval, result)
    for env in eval_envs:
        env.close()
    ctx.venv.close()
    return TrainResult(run, result, int(model.num_timesteps), seconds)


def _log_interval(model: BaseAlgorithm) -> int:
    """Log every ~2048 env steps: dumping CSV and TensorBoard after every short PPO rollout costs ~4% of speed."""
    if isinstance(model, OnPolicyAlgorithm):
        return max(1, 2048 // (model.n_steps * model.n_envs))
    return 4  # episodes, SB3's default for off-policy algorithms


def _save_final(ctx: RunContext) -> None:
    model, run = ctx.model, ctx.run
    vecnorm = model.get_vec_normalize_env()
    if vecnorm is not None:
        save_stats(vecnorm, run.vecnormalize)
    if ctx.curiosity is not None:
        atomic_write(run.curiosity, ctx.curiosity.save)
    if ctx.aux is not None:
        atomic_write(run.aux, ctx.aux.save)
    if ctx.domain is not None:
        atomic_write(run.domain, ctx.domain.save)
        ctx.domain.close()
    atomic_write(run.model, lambda p: model.save(p))
