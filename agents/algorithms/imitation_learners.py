"""The trainers of bc, dagger, gail and airl over the ``imitation`` package (see
:mod:`gymsuite.agents.algorithms.imitation`).

Each ``learn_*`` takes the PPO that :func:`gymsuite.agents.algorithms.imitation._build` made and trains it with
imitation's trainer; this module is imported only when one of them runs
(:func:`gymsuite.agents.algorithms.imitation._lazy`).
"""

from __future__ import annotations

import contextlib
import functools
import math
import tempfile
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from imitation.algorithms import bc, dagger
from imitation.algorithms.adversarial import airl, gail
from imitation.data import rollout
from imitation.util import logger as imit_logger
from imitation.util import networks
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.type_aliases import Schedule
from stable_baselines3.common.utils import ConstantSchedule

from gymsuite.agents.algorithms.imitation import check_run, options
from gymsuite.agents.algorithms.spec import TrainContext
from gymsuite.agents.data.demos import Demos, load_demos, pad_absorbing, save_demos
from gymsuite.agents.data.recording import split_truncation
from gymsuite.common.errors import UserError
from gymsuite.common.spaces import describe_space
from gymsuite.envs.factory import make_env
from gymsuite.envs.wrappers import AbsorbAfterTermination
from gymsuite.rewards.learned import REWARD_FILE, build_reward_net, read_reward_file, save_reward_net


def _ppo(model: BaseAlgorithm) -> PPO:
    """The PPO that :func:`_build` made (the registry hands every algorithm's ``learn`` a ``BaseAlgorithm``)."""
    if not isinstance(model, PPO):
        raise TypeError(f"imitation learners train the PPO built by _build, not a {type(model).__name__}")
    return model


class _Forward(BaseCallback):
    """Hands a run's callbacks to many short ``model.learn`` calls (one per GAIL/AIRL round).

    Each ``learn`` starts and ends the callback it is given; the run's progress bar,
    checkpoints and evaluations must start once and see every step, so they are started
    by :func:`_started` and only steps and rollout events pass through here.
    """

    def __init__(self, inner: BaseCallback) -> None:
        super().__init__()
        self.inner = inner

    def _on_step(self) -> bool:
        return self.inner.on_step()

    def update_child_locals(self, locals_: dict[str, Any]) -> None:
        self.inner.update_locals(locals_)

    def _on_rollout_start(self) -> None:
        self.inner.on_rollout_start()

    def _on_rollout_end(self) -> None:
        self.inner.on_rollout_end()


def _started(callback: BaseCallback, model: BaseAlgorithm) -> BaseCallback:
    callback.init_callback(model)
    callback.on_training_start({}, {})
    return callback


def _demos(algo: str, ctx: TrainContext, opts: dict[str, Any], required: bool = True) -> Demos | None:
    if not ctx.cfg.demos:
        if required:
            check_run(algo, ctx.cfg)  # raises: a run built by build_config was checked already
        return None
    venv = ctx.venv
    return load_demos(ctx.cfg.demos, venv.observation_space, venv.action_space, ctx.cfg.env).head(
        int(opts["demo_episodes"]))


@contextlib.contextmanager
def _quiet_bc_logging() -> Iterator[None]:
    """imitation's BC logs its loss with ``float(tensor)`` on a tensor that still needs grad; torch warns."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad=True", category=UserWarning)
        yield


def _logger(model: BaseAlgorithm) -> imit_logger.HierarchicalLogger:
    """imitation's logger on top of the run's (means land in ``logs/progress.csv``, raw values in ``logs/raw``)."""
    return imit_logger.HierarchicalLogger(model.logger, ["csv"])


def _bc_trainer(model: BaseAlgorithm, opts: dict[str, Any], demos: Demos | None, seed: int) -> bc.BC:
    lr = opts["learning_rate"]
    try:
        return bc.BC(observation_space=model.observation_space, action_space=model.action_space,
                     rng=np.random.default_rng(seed), policy=_ppo(model).policy,
                     demonstrations=demos.to_transitions() if demos is not None else None,
                     batch_size=int(opts["batch_size"] or 32), optimizer_kwargs={"lr": float(lr)},
                     ent_weight=float(opts["ent_weight"]), l2_weight=float(opts["l2_weight"]), device=model.device,
                     custom_logger=_logger(model))
    except ValueError as err:  # fewer transitions than one batch
        raise UserError(f"cannot train BC: {err}", "record more episodes or lower batch_size") from err


def learn_bc(model: BaseAlgorithm, total_timesteps: int, callback: BaseCallback, ctx: TrainContext) -> BaseAlgorithm:
    """Behaviour cloning on ``--demos``; ``num_timesteps`` counts demonstration samples."""
    opts = options("bc", ctx.cfg.hyperparams)
    trainer = _bc_trainer(model, opts, _demos("bc", ctx, opts), ctx.cfg.seed)
    batch = trainer.batch_size
    _started(callback, model)

    def on_batch_end() -> None:
        model.num_timesteps += batch
        model._n_updates += 1  # imitation's BC steps the policy itself; SB3's count says it changed (PeriodicEval)
        callback.on_step()

    n_epochs = None if opts["n_epochs"] is None else int(opts["n_epochs"])  # BC takes one of the two
    n_batches = None if n_epochs is not None else int(opts["n_batches"] or math.ceil(total_timesteps / batch))
    try:
        with _quiet_bc_logging():
            trainer.train(n_epochs=n_epochs, n_batches=n_batches, on_batch_end=on_batch_end, progress_bar=False,
                          log_interval=100)
    finally:
        callback.on_training_end()
    return model


def learn_dagger(model: BaseAlgorithm, total_timesteps: int, callback: BaseCallback,
                 ctx: TrainContext) -> BaseAlgorithm:
    """DAgger: the learner acts (with probability 1 - beta), the expert labels, BC retrains on all labels.

    Saves the aggregated, expert-labelled dataset as ``RUN_DIR/dagger_demos.npz``.
    """
    cfg = ctx.cfg
    check_run("dagger", cfg)
    assert cfg.expert is not None
    opts = options("dagger", cfg.hyperparams)
    assert ctx.load_expert is not None, "the run pipeline hands dagger the expert loader"
    expert, _ = ctx.load_expert(cfg.expert, env=cfg.env, trust_pickle=ctx.trust_pickle)
    demos = _demos("dagger", ctx, opts, required=False)
    trainer_bc = _bc_trainer(model, opts, None, cfg.seed)
    labelled = demos.to_trajectories() if demos is not None else []
    truncated = list(demos.truncated) if demos is not None else []
    with tempfile.TemporaryDirectory(prefix="dagger-") as scratch:
        try:
            trainer = dagger.SimpleDAggerTrainer(
                venv=ctx.venv, scratch_dir=scratch, expert_policy=expert, rng=np.random.default_rng(cfg.seed),
                expert_trajs=labelled or None, beta_schedule=dagger.LinearBetaSchedule(opts["beta_rampdown_rounds"]),
                bc_trainer=trainer_bc, custom_logger=trainer_bc.logger)
        except ValueError as err:
            raise UserError(f"the expert {cfg.expert} does not fit {cfg.env}: {err}",
                            "pass an expert trained on the same env") from err
        sample_until = rollout.make_sample_until(
            min_timesteps=max(opts["rollout_round_min_timesteps"], trainer.batch_size),
            min_episodes=opts["rollout_round_min_episodes"])
        length = ({"n_batches": int(opts["n_batches"])} if opts["n_batches"] else
                  {"n_epochs": int(opts["n_epochs"] or dagger.DAggerTrainer.DEFAULT_N_EPOCHS)})
        bc_kwargs = {**length, "progress_bar": False, "log_rollouts_venv": None}
        _started(callback, model)
        end = model.num_timesteps + total_timesteps
        try:
            while model.num_timesteps < end:
                # One round, as SimpleDAggerTrainer.train does, with our callbacks between rounds.
                collector = trainer.create_trajectory_collector()
                trajs = rollout.generate_trajectories(expert, collector, sample_until, rng=collector.rng,
                                                      deterministic_policy=True)
                trajs, ends = split_truncation(trajs)
                labelled += trajs
                truncated += ends
                model.num_timesteps += sum(len(t) for t in trajs)
                with _quiet_bc_logging():
                    trainer.extend_and_update(bc_kwargs)
                model._n_updates += 1  # the round's BC retraining (PeriodicEval evaluates a changed policy only)
                callback.on_step()
        finally:
            callback.on_training_end()
    if labelled:
        data = Demos.from_trajectories(labelled, truncated, cfg.env, ctx.venv.observation_space,
                                       ctx.venv.action_space, source=f"dagger labels by {cfg.expert}")
        save_demos(ctx.run.root / "dagger_demos.npz", data)
    return model


def learn_adversarial(algo: str, model: BaseAlgorithm, total_timesteps: int, callback: BaseCallback,
                      ctx: TrainContext) -> BaseAlgorithm:
    """GAIL/AIRL: alternate a PPO round on the learned reward with discriminator updates.

    imitation's variable-horizon guard is lifted (``allow_variable_horizon=True``) knowingly:
    with ``absorbing_steps > 0`` (the default) a terminated episode continues in an absorbing
    state and then ends as a bootstrapped truncation, so its end no longer leaks reward
    information (:class:`gymsuite.envs.wrappers.AbsorbAfterTermination`). ``absorbing_steps: 0``
    leaves plain variable horizons and their leak (docs/imitation.md explains it).
    Saves the learned reward as ``RUN_DIR/reward_net.pt``.
    """
    cfg, hyper = ctx.cfg, ctx.cfg.hyperparams
    opts = options(algo, hyper)
    demos = _demos(algo, ctx, opts)
    assert demos is not None
    absorbing = int(opts["absorbing_steps"])
    if absorbing:
        demos = pad_absorbing(demos, absorbing, np.random.default_rng(cfg.seed), ctx.venv.action_space)
        ctx.venv.close()
        ctx.venv = make_env(cfg.env, n_envs=cfg.n_envs, seed=cfg.seed + model.num_timesteps, options=ctx.env_options,
                            reward_wrappers=[functools.partial(AbsorbAfterTermination, steps=absorbing)])
    net_kwargs = dict(opts["reward_net_kwargs"])
    arch = {"algo": algo, "normalize_input": bool(net_kwargs.pop("normalize_input", True)), "net": net_kwargs,
            "gamma": float(_ppo(model).gamma), "absorbing_steps": absorbing,
            "env": cfg.env, "observation_space": describe_space(ctx.venv.observation_space),
            "action_space": describe_space(ctx.venv.action_space)}
    reward_net = build_reward_net(arch, ctx.venv.observation_space, ctx.venv.action_space)
    reward_file = ctx.run.root / REWARD_FILE
    if model.num_timesteps > 0 and reward_file.is_file():  # --resume: continue the discriminator too
        reward_net.load_state_dict(read_reward_file(reward_file)[1])
    n_demo = demos.n_transitions
    batch = opts["demo_batch_size"] or min(512, n_demo)
    if batch > n_demo:
        raise UserError(f"demo_batch_size={batch} is more than the {n_demo} demonstrated transitions",
                        f"lower demo_batch_size to at most {n_demo} or record more episodes")
    _started(callback, model)  # before the trainer swaps in its logger: evaluations log to the run's own keys
    trainer_cls = gail.GAIL if algo == "gail" else airl.AIRL
    trainer = trainer_cls(demonstrations=demos.to_transitions(done_at_end=True), demo_batch_size=batch, venv=ctx.venv,
                          gen_algo=model, reward_net=reward_net,
                          n_disc_updates_per_round=opts["n_disc_updates_per_round"],
                          gen_train_timesteps=opts["gen_train_timesteps"],
                          gen_replay_buffer_capacity=opts["gen_replay_buffer_capacity"],
                          disc_opt_kwargs={"lr": float(opts["disc_learning_rate"])}, log_dir=ctx.run.logs,
                          custom_logger=_logger(model), allow_variable_horizon=True)
    per_round = trainer.gen_train_timesteps
    rounds = total_timesteps // per_round
    if rounds < 1:
        raise UserError(f"--timesteps {total_timesteps} is less than one {algo} round of {per_round} generator steps",
                        "raise --timesteps, or lower n_steps / n_envs / gen_train_timesteps")
    # imitation types gen_callback as its own reward callback, but train_gen hands it to learn(), which takes any.
    trainer.gen_callback = CallbackList([trainer.gen_callback, _Forward(callback)])  # type: ignore[assignment,list-item]
    # Each round's learn() would restart SB3's progress, and so any "lin_X" schedule: hold the
    # value of the whole run's progress instead (SB3's own ConstantSchedule, so zips stay plain).
    gen = _ppo(model)
    originals: tuple[Schedule, Schedule] = (gen.lr_schedule, gen.clip_range)  # type: ignore[assignment]  # a schedule once set up
    save_every = max(rounds // 10, 1)
    try:
        for done in range(rounds):
            remaining = max(1.0 - model.num_timesteps / max(cfg.timesteps, 1), 0.0)
            gen.lr_schedule, gen.clip_range = (ConstantSchedule(float(s(remaining))) for s in originals)
            trainer.train_gen(per_round)
            with networks.training(reward_net):
                for _ in range(trainer.n_disc_updates_per_round):
                    trainer.train_disc()
            trainer.logger.dump(model.num_timesteps)
            if (done + 1) % save_every == 0:
                save_reward_net(reward_file, reward_net, arch)
    finally:
        gen.lr_schedule, gen.clip_range = originals
        save_reward_net(reward_file, reward_net, arch)
        callback.on_training_end()
    return model


