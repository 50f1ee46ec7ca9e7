"""The Python API: train, load, evaluate and record agents, and make environments, as the commands do.

Every function here runs the same pipeline as its command (``gymsuite train``, ``evaluate``, ``record``),
which are thin callers of it. Mistakes a user can fix raise :class:`gymsuite.UserError` (its message names
the bad input, its ``hint`` the fix), never ``SystemExit``.

Example:
    ```python
    import gymsuite

    run = gymsuite.train("ppo", "CartPole-v1", timesteps=20_000, run_dir="runs/cp")
    agent = gymsuite.load(run.dir)
    env = gymsuite.make_env("CartPole-v1")
    observation, info = env.reset(seed=0)
    action = agent.act(observation)
    gymsuite.evaluate(run.dir, episodes=10)["mean_return"]
    ```

Shapes: ``O`` is one observation's shape (a dict of shapes for a ``Dict`` space), ``A`` one action's,
``B`` the number of observations in a batch.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from sb3_contrib import MaskablePPO, RecurrentPPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.utils import is_vectorized_observation
from stable_baselines3.common.vec_env import (
    DummyVecEnv,
    VecEnv,
    VecNormalize,
    VecTransposeImage,
    unwrap_vec_normalize,
)

from gymsuite.agents.algorithms import registry
from gymsuite.agents.continual import sequence
from gymsuite.agents.files.rundir import RunDir
from gymsuite.agents.meta import learning as metalearning
from gymsuite.agents.meta.plan import make_plan as make_meta_plan
from gymsuite.agents.observation import env_options
from gymsuite.agents.run import compressing, training
from gymsuite.agents.run.compressing import CompressOptions
from gymsuite.agents.run.config import build_config
from gymsuite.agents.run.distilling import DistillOptions
from gymsuite.agents.run.runconfig import RunConfig
from gymsuite.agents.saved import adapting, attacking, attackreport, shifting
from gymsuite.agents.saved.evaluation import evaluate as evaluate_agent
from gymsuite.agents.saved.explaining import ExplainOptions
from gymsuite.agents.saved.explaining import explain as explain_agent
from gymsuite.agents.saved.exporting import ExportOptions
from gymsuite.agents.saved.exporting import export as export_agent
from gymsuite.agents.saved.loading import LoadedAgent, load_agent, make_agent_env
from gymsuite.agents.saved.video import check_recordable
from gymsuite.agents.saved.video import record as record_agent
from gymsuite.agents.sweeps import compression
from gymsuite.agents.sweeps.plots import check_plot_path, plot_shift
from gymsuite.common.errors import UserError
from gymsuite.common.files import read_yaml
from gymsuite.common.options import check_keys
from gymsuite.envs import factory

__all__ = ["Agent", "Run", "adapt", "attack", "compress", "continual", "evaluate", "meta", "explain", "export", "load",
           "make_env", "record", "resume", "shift", "train"]

PathLike = str | Path


@dataclass(frozen=True)
class Run:
    """A finished (or interrupted) training run: where it is, what it was, how it ended.

    Attributes:
        dir: the run directory (``model.zip``, ``config.yaml``, ``eval.json``, ``logs/``, ``checkpoints/``).
        config: the run's resolved settings, as saved in ``config.yaml``.
        eval: the final evaluation, the keys of ``eval.json`` (``mean_return``, ``std_return``, ``episodes``,
            ...); empty when the run was interrupted.
        steps: environment steps trained.
        seconds: wall-clock seconds of training (this session's, for a resumed run).
        interrupted: Ctrl-C or SIGTERM stopped it; ``model.zip`` and a checkpoint were saved, and
            :func:`resume` continues it.
        signal: the signal that interrupted it (``signal.SIGINT``, ``signal.SIGTERM``), else 0.
        video: the mp4 of the trained agent when ``video=True`` was asked for, else None.
    """

    dir: Path
    config: RunConfig
    eval: dict[str, Any]
    steps: int
    seconds: float
    interrupted: bool = False
    signal: int = 0
    video: Path | None = None

    @property
    def model_path(self) -> Path:
        """The trained model, ``dir/model.zip`` (loadable by :func:`load` and by plain SB3 ``ALGO.load``)."""
        return RunDir(self.dir).model

    @property
    def mean_return(self) -> float:
        """The final evaluation's mean episode return on the env's own reward (NaN when interrupted)."""
        return float(self.eval.get("mean_return", math.nan))


def train(algo: str | None = None, env: str | None = None, *, timesteps: int | None = None, seed: int | None = None,
          run_dir: PathLike | None = None, hyperparams: Mapping[str, Any] | Sequence[str] | None = None,
          config: PathLike | None = None, overwrite: bool = False, trust_pickle: bool = False, video: bool = False,
          callbacks: Sequence[BaseCallback] = (), **run_options: Any) -> Run:
    """Train ``algo`` on ``env`` into a run directory, as ``gymsuite train`` does.

    Settings are resolved as the command resolves them (lowest first): the shipped hyperparameters
    for ``algo`` on ``env``, the ``config`` file, then these arguments. Nothing is written before
    they are all valid.

    Args:
        algo: algorithm name (``"ppo"``, ``"dqn"``, ``"a2c"``, ``"pg"``, ...; ``gymsuite train --list-algos``);
            may come from ``config`` instead.
        env: env id (``"CartPole-v1"``, ``"gymsuite/CartPoleNoVel-v0"``), ``"package.module:Class"`` or
            ``"path/to/file.py:Class"``; may come from ``config`` instead.
        timesteps: environment steps to train (default: tuned per env; on-policy runs round up to whole rollouts).
        seed: seed of the envs, networks and exploration (default 0, or the config file's).
        run_dir: where the run goes (default ``runs/<algo>-<env>-s<seed>-<time>``).
        hyperparams: algorithm hyperparameters over the tuned ones, a mapping (``{"learning_rate": 1e-3}``)
            or ``"key=value"`` strings read as YAML, as ``--hyperparams`` takes them.
        config: a YAML file of run settings (a run's ``config.yaml`` reruns it).
        overwrite: replace an existing ``run_dir``.
        trust_pickle: an expert (``expert=...``) may be loaded by unpickling; only for files you trust.
        video: also record one episode of the trained agent into ``run_dir/videos/final.mp4`` (the env's
            rendering is checked before training).
        callbacks: extra SB3 callbacks that observe the run (not saved with it).
        **run_options: other :class:`~gymsuite.agents.run.runconfig.RunConfig` fields (``n_envs``,
            ``eval_episodes``, ``eval_freq``, ``checkpoint_freq``, ``curiosity``, ``demos``, ``device``, ...).

    Returns:
        The :class:`Run`.

    Raises:
        UserError: an unknown algorithm, env, setting or hyperparameter (naming the closest valid one),
            a bad value, or an existing ``run_dir`` without ``overwrite``.
    """
    if isinstance(hyperparams, str):
        raise UserError(f"hyperparams must be a mapping or a list of key=value strings, not the string "
                        f"{hyperparams!r}", f"pass hyperparams=[{hyperparams!r}]")
    given = {"algo": algo, "env": env, "timesteps": timesteps, "seed": seed, **run_options}
    cfg = build_config(given, str(config) if config is not None else None, hyperparams)
    if video:  # an env that cannot render is found now, not after training
        check_recordable(cfg.env, cfg.hyperparams.get("env_kwargs"))
    result = training.train(cfg, run_dir, overwrite=overwrite, callbacks=callbacks, trust_pickle=trust_pickle)
    return _finished(result, video)


def resume(run_dir: PathLike, *, trust_pickle: bool = False, video: bool = False) -> Run:
    """Continue an interrupted run from its newest checkpoint, as ``gymsuite train --resume`` does.

    Args:
        run_dir: the run directory.
        trust_pickle: the checkpoint and its files may be loaded by unpickling (runs of older versions).
        video: also record one episode of the trained agent into ``run_dir/videos/final.mp4``.

    Returns:
        The :class:`Run`, with the steps and seconds of this session.

    Raises:
        UserError: ``run_dir`` is not a run directory, or has no checkpoint.
    """
    if video:  # the run's env, checked before training resumes
        run = RunDir(Path(run_dir))
        saved = read_yaml(run.config) if run.is_run() else {}
        if saved.get("env"):
            check_recordable(str(saved["env"]), (saved.get("hyperparams") or {}).get("env_kwargs"))
    return _finished(training.resume(run_dir, trust_pickle=trust_pickle), video)


def _finished(result: training.TrainResult, with_video: bool) -> Run:
    """The :class:`Run` of a pipeline result, after recording its video when asked."""
    out = None
    if with_video and not result.interrupted:
        out = result.run.videos / "final.mp4"
        record_agent(load_agent(str(result.run.root)), out, episodes=1)
    return Run(result.run.root, RunConfig(**read_yaml(result.run.config)), dict(result.eval), int(result.steps),
               float(result.seconds), result.interrupted, int(result.signum), out)


class Agent:
    """A trained agent (or the random one) that acts on observations as ``evaluate`` makes it act.

    Built by :func:`load`. It takes the observations of the env the run was trained on as that env returns
    them (:func:`make_env` with the run's hyperparameters builds it: ``agent.make_env()``), and applies what
    the model saw in training: the run's frozen observation normalisation (``VecNormalize`` statistics) and
    SB3's image transposition. A recurrent agent (``backbone=lstm``) carries its LSTM state from call to call;
    :meth:`reset` starts a new episode.

    Attributes:
        algo: the algorithm's registry name, or ``"random"``.
        env_id: the env spec it acts in (None for a bare model zip loaded without ``env``).
        model: the SB3 model (None for the random agent).
        observation_space: the space of one observation, as the env returns it.
        action_space: the space of one action.
        run_dir: the run directory it was loaded from, else None.
    """

    def __init__(self, loaded: LoadedAgent) -> None:
        """Wrap a loaded agent; use :func:`load` rather than this."""
        self._loaded = loaded  # its memory is the recurrent state carried from call to call
        self._normalizer: VecNormalize | None = None
        self._transposer: VecTransposeImage | None = None
        self.algo: str = loaded.algo
        self.env_id: str | None = loaded.env
        self.model: BaseAlgorithm | None = loaded.model
        self.run_dir: Path | None = loaded.run.root if loaded.run is not None else None
        if loaded.env is None:  # a bare zip: the model's own spaces, nothing between env and model
            assert loaded.model is not None, "the random agent always has an env"
            self.observation_space: spaces.Space = loaded.model.observation_space
            self.action_space: spaces.Space = loaded.model.action_space
            return
        venv = make_agent_env(loaded)  # the env as evaluate builds it: spaces checked, statistics loaded
        try:
            self.action_space = venv.action_space
            inner = venv
            if isinstance(venv, VecTransposeImage):  # the outermost wrapper (loading.as_model_sees)
                self._transposer, inner = venv, venv.venv
            self.observation_space = inner.observation_space
            self._normalizer = unwrap_vec_normalize(venv)
        finally:
            venv.close()

    @property
    def recurrent(self) -> bool:
        """The agent carries a hidden state across steps (``backbone=lstm``)."""
        return isinstance(self.model, RecurrentPPO)

    @property
    def uses_masks(self) -> bool:
        """The agent takes action masks (``--algo selfplay``'s MaskablePPO): :meth:`act` needs ``action_mask``."""
        return isinstance(self.model, MaskablePPO)

    @property
    def hyperparams(self) -> dict[str, Any]:
        """The run's hyperparameters (empty for a bare zip or the random agent)."""
        return copy.deepcopy(self._loaded.hyperparams or {})

    @property
    def state(self) -> tuple[np.ndarray, ...] | None:
        """A recurrent agent's LSTM state ``(h, c)``, each ``(layers, B, hidden)``; None at an episode's start."""
        return self._loaded.memory

    def reset(self) -> None:
        """Forget the recurrent state: the next :meth:`act` starts new episodes (no-op for other agents)."""
        self._loaded.memory = None

    def make_env(self, *, n_envs: int | None = None, seed: int = 0, render_mode: str | None = None
                 ) -> gym.Env | VecEnv:
        """The env this agent acts in, built with its run's hyperparameters (see :func:`make_env`)."""
        if self.env_id is None:
            raise UserError("no environment known for this model", "load it with env=ENV")
        return make_env(self.env_id, n_envs=n_envs, seed=seed, hyperparams=self._loaded.hyperparams,
                        render_mode=render_mode)

    def act(self, observation: Any, deterministic: bool = True, *, episode_start: Any = None,
            action_mask: Any = None) -> Any:
        """The action for one observation, or the actions ``(B, *A)`` for a batch ``(B, *O)``.

        Which one is told by comparing the observation's shape with :attr:`observation_space` (for a
        ``Dict`` space, a mapping of arrays, each with or without the batch axis).

        Args:
            observation: one observation ``O`` or a batch ``(B, *O)``, as the env returns them.
            deterministic: the greedy action (default) or one sampled from the policy.
            episode_start: recurrent agents only: bool, or ``(B,)`` bools for a batch, True where the observation
                is the first of an episode (its LSTM state is zeroed there). Default: True on the first call
                after :meth:`reset` (or :func:`load`), else False. Other agents ignore it.
            action_mask: agents that use masks (:attr:`uses_masks`): the legal actions, ``(n,)`` bools or
                ``(B, n)`` for a batch (a game's ``info["action_mask"]``); required for them, refused for others.

        Returns:
            One action (an array of shape ``A``, or a numpy integer for a ``Discrete`` space), or ``(B, *A)``.

        Raises:
            UserError: the observation fits neither one observation nor a batch of them; a missing or unwanted
                ``action_mask``; a batch whose size changes in the middle of a recurrent agent's episodes.
        """
        obs, single = self._as_batch(observation)
        n = len(next(iter(obs.values()))) if isinstance(obs, dict) else len(obs)
        masks = self._masks(action_mask, n)
        if self.model is None:
            actions = np.stack([self.action_space.sample() for _ in range(n)])
            return actions[0] if single else actions
        if self._normalizer is not None:
            obs = self._normalizer.normalize_obs(obs)
        if self._transposer is not None:
            obs = self._transposer.transpose_observations(obs)
        starts = self._starts(episode_start, n) if self.recurrent else None
        actions = self._loaded.decide(obs, deterministic, episode_start=starts, action_masks=masks)
        return actions[0] if single else actions

    def _as_batch(self, observation: Any) -> tuple[Any, bool]:
        """``observation`` as a batch ``(B, *O)`` (a dict of them for a ``Dict`` space) and whether it was one."""
        space = self.observation_space
        if isinstance(space, spaces.Dict):
            if not isinstance(observation, Mapping) or set(observation) != set(space.spaces):
                got = sorted(observation) if isinstance(observation, Mapping) else type(observation).__name__
                raise UserError(f"the agent takes dict observations with the keys {sorted(space.spaces)}, got {got}",
                                "pass the observation the env returned")
            obs: Any = {key: np.asarray(value) for key, value in observation.items()}
        else:
            obs = np.asarray(observation)
        try:
            batched = is_vectorized_observation(obs, space)
        except ValueError as err:
            raise UserError(f"the observation fits neither one observation of {space} nor a batch of them: "
                            f"{str(err).strip()}", "pass one observation as the env returns it, or a batch "
                            "stacked on a first axis") from err
        if batched:
            return obs, False
        if isinstance(obs, dict):
            return {key: value[None] for key, value in obs.items()}, True
        return obs[None], True

    def _masks(self, action_mask: Any, n: int) -> np.ndarray | None:
        """The action masks ``(B, n_actions)`` bool, or None for an agent that takes none."""
        if not self.uses_masks:
            if action_mask is not None:
                raise UserError(f"{self.algo} does not use action masks", "leave out action_mask")
            return None
        if action_mask is None:
            raise UserError(f"this {self.algo} agent chooses among legal actions only, and needs action_mask",
                            "pass action_mask=info['action_mask'] (or env.action_masks()) with each observation")
        masks = np.asarray(action_mask, dtype=bool)
        if masks.size % n or masks.ndim not in (1, 2) or masks.ndim == 2 and len(masks) != n:
            raise UserError(f"action_mask has shape {masks.shape}, which fits neither one observation nor {n}",
                            "pass (n_actions,) bools for one observation, (B, n_actions) for a batch")
        return masks.reshape(n, -1)

    def _starts(self, episode_start: Any, n: int) -> np.ndarray:
        """Which of the ``n`` observations start an episode ``(n,)`` bool (where all do, ``decide`` forgets the
        state)."""
        memory = self._loaded.memory
        if episode_start is None:
            starts = np.full(n, memory is None)
        else:
            starts = np.asarray(episode_start, dtype=bool).reshape(-1)
            if starts.size == 1:
                starts = np.repeat(starts, n)
            if starts.shape != (n,):
                raise UserError(f"episode_start has {starts.size} entries for {n} observations",
                                "pass one bool per observation")
        if not starts.all() and memory is not None and memory[0].shape[1] != n:  # all starting: a fresh batch
            raise UserError(f"a batch of {n} observations, but the agent's memory holds {memory[0].shape[1]} "
                            "episodes", "call agent.reset() before acting on a batch of another size")
        return starts

    def __repr__(self) -> str:
        return f"Agent(algo={self.algo!r}, env_id={self.env_id!r}, run_dir={self.run_dir!r})"


def load(run_dir_or_zip: PathLike, *, env: str | None = None, algo: str | None = None, best: bool = False,
         trust_pickle: bool = False) -> Agent:
    """Load a trained agent from a run directory or a model ``.zip``, or ``"random"``.

    Args:
        run_dir_or_zip: a run directory, a model ``.zip`` (a bare SB3 zip too), or ``"random"``
            (actions sampled from the action space; needs ``env``).
        env: the env it acts in (default: its run's); one with the same spaces.
        algo: the algorithm, for a bare zip whose file does not tell it (an A2C zip).
        best: in a run directory, ``best_model.zip`` (best periodic evaluation) instead of ``model.zip``.
        trust_pickle: also load by unpickling (SB3's own load, pickled statistics); only for files you trust.

    Returns:
        The :class:`Agent`.

    Raises:
        UserError: no such run or file, a file that is not a model, a model that does not fit ``env``.
    """
    return Agent(_loaded(run_dir_or_zip, env, algo, best, trust_pickle))


def _loaded(target: PathLike | Agent, env: str | None, algo: str | None, best: bool,
            trust_pickle: bool) -> LoadedAgent:
    """The pipeline's :class:`LoadedAgent` for ``target``, with a recurrent state of its own."""
    if isinstance(target, Agent):
        if best:
            raise UserError("best picks a run directory's best_model.zip, and an Agent is already loaded",
                            "load(run_dir, best=True)")
        return dataclasses.replace(target._loaded, env=env or target._loaded.env, memory=None)
    return load_agent(str(target), algo=algo, env=env, which="best" if best else "model", trust_pickle=trust_pickle)


def evaluate(run_dir_or_agent: PathLike | Agent, episodes: int = 10, *, env: str | None = None,
             algo: str | None = None, best: bool = False, deterministic: bool = True, seed: int = 0,
             max_episode_steps: int | None = None, trust_pickle: bool = False,
             defence: str | None = None) -> dict[str, Any]:
    """Evaluate an agent over whole episodes on the env's own reward, as ``gymsuite evaluate`` does.

    Args:
        run_dir_or_agent: a run directory, a model ``.zip``, ``"random"``, or an :class:`Agent`.
        episodes: episodes to play.
        env: the env (default: the run's).
        algo: the algorithm of a bare zip that does not tell it.
        best: a run directory's ``best_model.zip`` instead of ``model.zip``.
        deterministic: greedy actions (default) or sampled ones.
        seed: base seed of the evaluation envs.
        max_episode_steps: cut an episode after this many steps, with a warning (default: the env's time
            limit, else 10,000).
        trust_pickle: see :func:`load`.
        defence: a passive defence the agent acts through (``randomized:SIGMA[:N]``, ``bits:B``, ``median:K``:
            see :func:`attack`), named in the result's ``defence``.

    Returns:
        The keys of ``eval.json``: ``mean_return``, ``std_return``, ``episodes``, ``mean_length``,
        ``min_return``, ``max_return``, ``returns``, ``capped_episodes``, ``deterministic``, ``algo``, ``env``,
        ``seconds`` (and ``per_agent`` on a multi-agent env, ``games`` on a board game).

    Raises:
        UserError: see :func:`load`; ``episodes`` or ``max_episode_steps`` below 1.
    """
    _at_least_one("episodes", episodes)
    _at_least_one("max_episode_steps", max_episode_steps)
    guard = attacking.parse_defence(defence) if defence is not None else attacking.Defence()
    agent = _loaded(run_dir_or_agent, env, algo, best, trust_pickle)
    venv = make_agent_env(agent, seed=seed, max_episode_steps=max_episode_steps)
    try:
        if guard.name == "none":
            return evaluate_agent(agent, venv, episodes, deterministic)
        view = attacking.check_agent(agent, venv)
        attacking.check_defence(guard, view)
        actor = attacking.DefendedAgent(agent, guard, view, seed)
        return {**evaluate_agent(agent, venv, episodes, deterministic, actor), "defence": guard.label}
    finally:
        venv.close()


def shift(run_dir_or_agent: PathLike | Agent, params: str | Sequence[str], *, log: bool = False,
          episodes: int = 10, seeds: int = 5, seed: int = 0, env: str | None = None, algo: str | None = None,
          best: bool = False, deterministic: bool = True, max_episode_steps: int | None = None,
          plot: PathLike | None = None, trust_pickle: bool = False) -> dict[str, Any]:
    """An agent's return over a grid of env parameters, as ``gymsuite shift`` computes it
    (:mod:`gymsuite.agents.saved.shifting`; the parameters: :mod:`gymsuite.envs.params`).

    Args:
        run_dir_or_agent: a run directory, a model ``.zip``, or an :class:`Agent`.
        params: one or two axes ``"NAME=LOW:HIGH:N"`` (``"length=0.25x:4x:7"``; LOW and HIGH absolute or
            multiples of the nominal value; ``kw:NAME`` a constructor keyword, ``attr:NAME`` an attribute).
        log: log-spaced values on each axis.
        episodes: episodes per grid point and seed. seeds: env seeds per grid point (S).
        seed: base seed. env, algo, best, trust_pickle: see :func:`load`.
        deterministic: greedy actions (default) or sampled ones.
        max_episode_steps: cut an episode after this many steps (default: the env's time limit, else 10,000).
        plot: write a line (one axis) or a heat map (two) to this file (its suffix names the format), atomically.

    Returns:
        ``params``, ``values`` (name -> its axis), ``nominal``, ``mean_return`` (IQM over seeds of the per-seed
        mean return, a list, or a list of lists for two axes), ``ci_low``, ``ci_high``, ``points``, ``episodes``,
        ``seeds``, ``deterministic``, ``capped_episodes``, ``algo``, ``env``.

    Raises:
        UserError: a parameter the env does not have (the message lists those it has), a value that breaks the
            env, N < 2, more than two axes, a multi-agent env, a bad plot path; nothing is written then.
    """
    _at_least_one("episodes", episodes)
    _at_least_one("seeds", seeds)
    _at_least_one("max_episode_steps", max_episode_steps)
    if plot is not None:
        check_plot_path(Path(plot), "--plot")
    agent = _loaded(run_dir_or_agent, env, algo, best, trust_pickle)
    texts = [params] if isinstance(params, str) else list(params)
    axes = [shifting.parse_axis(agent, text, log) for text in texts]
    shifting.check_axes(axes)
    result = shifting.shift(agent, axes, episodes, seeds, seed, deterministic, max_episode_steps)
    if plot is not None:
        plot_shift(result, Path(plot))
    return result


def adapt(run_dir_or_agent: PathLike | Agent, out: PathLike, *, env: str | None = None,
          params: Mapping[str, Any] | Sequence[str] | None = None, steps: int = 4096, updates: int = 500,
          batch_size: int = 64, learning_rate: float = 1e-4, episodes: int = 10, seed: int = 0,
          algo: str | None = None, best: bool = False, trust_pickle: bool = False) -> dict[str, Any]:
    """Test-time adaptation, as ``gymsuite adapt`` does it (:mod:`gymsuite.agents.saved.adapting`): the agent plays
    ``steps`` steps in the target domain without rewards, its encoder alone is fine-tuned on those frames by
    reconstruction (the run's ``aux=recon`` decoder when it has one), and the adapted agent is written to ``out``.

    Args:
        run_dir_or_agent: a run directory, a model ``.zip`` or an :class:`Agent` (an image backbone, feed-forward;
            left unchanged: the adapted weights go to ``out``).
        out: the new run directory (must not exist); ``model.zip``, ``config.yaml`` (its env: ``env`` when given),
            ``adapt.json``.
        env: the target domain's env spec (default: the agent's own env), with the agent's observation space.
        params: env parameters set in the target domain: ``{"background": 0.55}`` or ``["background=0.55"]``
            (:mod:`gymsuite.envs.params`; absolute or ``2x`` the nominal value).
        steps: unlabelled target frames collected.
        updates: gradient steps (and as many for a fresh decoder first).
        batch_size: frames per step of the fine-tuning's Adam.
        learning_rate: the fine-tuning's Adam step size.
        episodes: target episodes before and after.
        seed: seed of the envs and minibatches.
        algo: see :func:`load`.
        best: see :func:`load`.
        trust_pickle: see :func:`load`.

    Returns:
        ``target``, ``before`` and ``after`` (``mean_return`` and ``returns`` on the target, the same episode seeds),
        ``recon_loss_before``/``recon_loss_after``, ``decoder`` (``run`` or ``fresh``), ``changed`` (the policy's
        parameters that changed: the encoder's only), ``steps``, ``updates``, ``out``.

    Raises:
        UserError: a non-image or recurrent agent, a target with another observation space, a parameter the env
            lacks or a value that breaks it, a count below 1, an ``out`` that exists; nothing is written then.
    """
    for name, value in (("steps", steps), ("updates", updates), ("batch_size", batch_size), ("episodes", episodes)):
        _at_least_one(name, value)
    if not (isinstance(learning_rate, int | float) and math.isfinite(learning_rate) and learning_rate > 0):
        raise UserError(f"learning_rate must be a finite number above 0, got {learning_rate!r}", "e.g. 1e-4")
    if isinstance(params, Mapping):
        given: dict[str, Any] = dict(params)
    else:
        given = dict(adapting.parse_params([params] if isinstance(params, str) else list(params or [])))
    agent = _loaded(run_dir_or_agent, None, algo, best, trust_pickle)
    target = adapting.TargetDomain(env=env, params=given or None)
    return adapting.adapt(agent, target, Path(out), steps, updates, batch_size, float(learning_rate), episodes, seed)


def attack(run_dir_or_agent: PathLike | Agent, eps: Sequence[float] = (0.0, 0.05, 0.1, 0.15),
           attacks: Sequence[str] = attacking.ATTACKS, *, env: str | None = None, algo: str | None = None,
           best: bool = False, seeds: Sequence[int] = (0,), episodes: int = 5, defences: Sequence[str] = ("none",),
           steps: int = 10, deterministic: bool = True, max_episode_steps: int | None = None,
           plot: PathLike | None = None, trust_pickle: bool = False) -> dict[str, Any]:
    """The agent's return against epsilon under each attack and the worst of them, as ``gymsuite attack`` reports it.

    Args:
        run_dir_or_agent: a run directory, a model ``.zip`` or an :class:`Agent` (ppo, a2c, pg or dqn; feed-forward,
            single-agent, continuous or pixel observations).
        eps: the perturbation sizes, in the observation's units (through the run's normaliser; pixels: 0-255).
        attacks: ``random``, ``fgsm``, ``pgd``, ``critic``, ``mad``, ``transfer:RUN2`` (PGD crafted with RUN2's
            network, which must observe the same space). ``env``, ``algo``, ``best``, ``trust_pickle``: see
            :func:`load`.
        seeds: env seeds; ``episodes`` are played per seed.
        defences: passive defences to report beside the bare agent: ``none``, ``randomized:SIGMA[:N]``,
            ``bits:B``, ``median:K`` (the last two for pixels).
        steps: PGD's steps (``pgd``, ``critic``, ``mad``, ``transfer``).
        deterministic: greedy actions (default) or sampled ones.
        max_episode_steps: cut an episode after this many steps (default: the env's time limit).
        plot: also write return against epsilon to this image file.

    Returns:
        :func:`gymsuite.agents.saved.attacking.summarize`'s report: ``mean_return``, ``iqm`` and ``ci`` per attack
        (and ``worst``) and eps (as text: ``"0.1"``), ``worst``, ``clean`` (with eps 0), and ``defences``: the same
        per defence.

    Raises:
        UserError: an unknown attack or defence (the closest named), eps below 0 or NaN, discrete observations, a
            transfer run with another observation space, a recurrent, masked or multi-agent run, a bad plot path.
    """
    _at_least_one("episodes", episodes)
    _at_least_one("steps", steps)
    _at_least_one("max_episode_steps", max_episode_steps)
    if not seeds:
        raise UserError("no seed given", "e.g. seeds=[0, 1, 2]")
    out = Path(plot) if plot is not None else None
    if out is not None:
        check_plot_path(out, "--plot")
    labels = list(dict.fromkeys(["none", *defences]))
    setting = attacking.Setting(tuple(attacking.check_eps(list(eps))), tuple(attacking.parse_attacks(list(attacks))),
                                tuple(attacking.parse_defence(d) for d in labels), tuple(int(s) for s in seeds),
                                episodes, steps, deterministic, max_episode_steps)
    agent = _loaded(run_dir_or_agent, env, algo, best, trust_pickle)
    report = attacking.summarize(attacking.attack_returns(agent, setting), setting)
    report.update(algo=agent.algo, env=agent.env)
    if out is not None:
        attackreport.plot(report, out)
    return report


def record(run_dir_or_agent: PathLike | Agent, out: PathLike | None = None, *, env: str | None = None,
           algo: str | None = None, episodes: int = 1, seed: int = 0, deterministic: bool = True,
           max_episode_steps: int | None = None, agent_view: bool = False, opponent: str = "self",
           trust_pickle: bool = False) -> Path:
    """Record episodes of an agent into one mp4, as ``gymsuite record`` does.

    Args:
        run_dir_or_agent: a run directory, a model ``.zip``, ``"random"`` (needs ``env``), or an :class:`Agent`.
        out: the ``.mp4`` to write (default ``RUN_DIR/videos/<env>-<n>ep.mp4``, or
            ``videos/random-<env>.mp4`` for the random agent, ``videos/<env>-<n>ep.mp4`` for a bare zip).
        env: the env (default: the run's).
        algo: the algorithm of a bare zip that does not tell it.
        episodes: episodes to record.
        seed: seed of the env.
        deterministic: greedy actions (default) or sampled ones.
        max_episode_steps: cut an episode after this many steps (default: the env's time limit, else 10,000).
        agent_view: show what a pixel agent sees beside the env's rendering.
        opponent: a board game's opponent: ``"self"``, ``"random"``, ``"scripted"`` or ``"minimax"``.
        trust_pickle: see :func:`load`.

    Returns:
        The path of the mp4.

    Raises:
        UserError: see :func:`load`; an env that renders no ``rgb_array`` frames; ``out`` not an ``.mp4``.
    """
    summary = record_video(run_dir_or_agent, out, env=env, algo=algo, episodes=episodes, seed=seed,
                           deterministic=deterministic, max_episode_steps=max_episode_steps, agent_view=agent_view,
                           opponent=opponent, trust_pickle=trust_pickle)
    return Path(summary["video"])


def record_video(run_dir_or_agent: PathLike | Agent, out: PathLike | None = None, *, env: str | None = None,
                 algo: str | None = None, episodes: int = 1, seed: int = 0, deterministic: bool = True,
                 max_episode_steps: int | None = None, agent_view: bool = False, opponent: str = "self",
                 trust_pickle: bool = False) -> dict[str, Any]:
    """:func:`record`, returning the summary of what it recorded (``gymsuite record`` prints it).

    Takes the arguments of :func:`record`.

    Returns:
        ``video`` (the mp4's path), ``frames``, ``fps``, ``returns`` and ``lengths`` (one per episode) and
        ``capped_episodes`` (episodes cut by the step cap).
    """
    _at_least_one("max_episode_steps", max_episode_steps)
    agent = _loaded(run_dir_or_agent, env, algo, False, trust_pickle)
    if out is None:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(agent.env)).strip("_")
        folder = agent.run.videos if agent.run is not None else Path("videos")
        out = folder / (f"random-{name}.mp4" if agent.model is None else f"{name}-{episodes}ep.mp4")
    return record_agent(agent, Path(out), episodes=episodes, seed=seed, deterministic=deterministic,
                        max_episode_steps=max_episode_steps, agent_view=agent_view, opponent=opponent)


def explain(run_dir_or_agent: PathLike | Agent, method: str = "grad", *, target: str = "action",
            baseline: str = "data", states: int | None = None, deletion_fraction: float = 0.1,
            out: PathLike | None = None, env: str | None = None, algo: str | None = None, seed: int = 0,
            deterministic: bool = True, trust_pickle: bool = False) -> dict[str, Any]:
    """Explain what an agent's chosen action (or value) depends on, as ``gymsuite explain`` does.

    Rolls the agent out for ``states`` on-policy states, attributes the log-probability of the action it
    chose (``target="action"``) or its critic's value (``"value"``) to each observation with ``method``,
    writes a bar chart of each feature's share (vector observations, png) or a video of the map over the
    env's frames beside the agent's view (images, mp4), and checks the map (randomisation test, deletion score).

    Args:
        run_dir_or_agent: a run directory, a model ``.zip`` or an :class:`Agent` (an actor-critic policy: ppo,
            a2c, pg; or dqn, whose output is the chosen action's Q-value; not recurrent, not multi-agent).
        method: ``"grad"``, ``"smoothgrad"``, ``"ig"``, ``"occlusion"``, ``"perturb"`` or ``"attention"`` (the
            attention backbone's own weights).
        target: ``"action"`` or ``"value"``.
        baseline: ``"data"`` (the mean on-policy observation) or ``"zero"``.
        states: on-policy states (default 200 for vectors, 100 frames for images).
        deletion_fraction: share of the inputs the deletion score removes, in (0, 1].
        out: the png or mp4 to write (default ``RUN_DIR/explain/METHOD-TARGET.png|mp4``, ``explain/...`` for a
            bare zip).
        env: the env (default: the run's); algo: the algorithm of a bare zip that does not tell it.
        seed: the env's seed, and the checks'.
        deterministic: greedy actions (default) or sampled ones.
        trust_pickle: see :func:`load`.

    Returns:
        ``method``, ``target``, ``baseline``, ``algo``, ``env``, ``observation`` (``"vector"``/``"image"``),
        ``states``; vectors: ``features``, ``share`` (a list in the observation's order, summing to 1),
        ``mean_abs``, ``plot``; images: ``video``, ``frames``; ``checks`` (``sanity``: ``output_layer`` and
        ``full`` rank correlations, ``threshold``, ``trustworthy``; ``deletion``: ``fraction``, ``k``,
        ``top_drop``, ``random_drop``, ``beats_random``) and ``trustworthy``.

    Raises:
        UserError: see :func:`load`; an unknown method (with the closest), target or baseline; a multi-agent,
            recurrent or MaskablePPO agent; discrete or dict observations; ``attention`` on another
            backbone; ``out`` of the wrong kind. Nothing is written then.
    """
    agent = _loaded(run_dir_or_agent, env, algo, False, trust_pickle)
    options = ExplainOptions(method, target, baseline, states, deletion_fraction, seed, deterministic)
    return explain_agent(agent, options, None if out is None else Path(out))


def export(run_dir_or_agent: PathLike | Agent, format: str = "onnx", *, out: PathLike | None = None,
           int8: bool = False, overwrite: bool = False, states: int = 200, seed: int = 0, latency: bool = True,
           env: str | None = None, algo: str | None = None, best: bool = False,
           trust_pickle: bool = False) -> dict[str, Any]:
    """Export an agent's greedy policy to an ONNX or TorchScript file that takes the env's raw observation, as
    ``gymsuite export`` does, and check it against the Python policy.

    The file holds the run's observation normalisation, SB3's channel transpose and image scaling, the backbone,
    the actor and the greedy head. Inputs: ``obs`` ``(B, *O)`` (uint8 images, int64 Discrete, float32 otherwise);
    an LSTM run (``backbone=lstm``) also ``h``, ``c`` ``(layers, B, hidden)`` and ``episode_start`` ``(B,)``.
    Outputs: ``action``, then ``logits`` (log-probabilities), ``mean`` (Box actions) or ``q_values`` (dqn), and
    ``h_out``, ``c_out`` for an LSTM. The report is also written beside the file as ``<file>.parity.json``.

    Args:
        run_dir_or_agent: a run directory, a model ``.zip`` or an :class:`Agent` (ppo, a2c, pg, dqn, the imitation
            algorithms; every backbone, the LSTM included; not multi-agent or masked runs).
        format: ``"onnx"`` or ``"torchscript"``.
        out: the file (default ``RUN_DIR/export/policy[.int8].onnx|.pt``; ``export/...`` for a bare zip).
        int8: dynamic int8 quantisation: onnxruntime's for ONNX, torch's (Linear and LSTM layers) for
            TorchScript, which refuses policies with convolutions or attention.
        overwrite: replace an existing file and report.
        states: N on-policy states (and N random observations) of the parity check.
        seed: the env's seed for the on-policy states, and the random observations'.
        latency: measure latency per call at batch 1 and 64 (about a second per runtime); False leaves it out.
        env: the env (default: the run's); algo: the algorithm of a bare zip that does not tell it.
        best: a run directory's ``best_model.zip``.
        trust_pickle: see :func:`load`.

    Returns:
        ``file``, ``parity_file``, ``format``, ``exporter`` (``dynamo``: torch's default; ``legacy``: its
        TorchScript-based ONNX exporter, with ``fallback_reason``; ``jit.trace``), ``int8``, ``algo``, ``env``,
        ``backbone``, ``recurrent``, ``inputs``, ``outputs``, ``bytes``, ``states``; ``on_policy`` and ``random``:
        ``agreement`` (share of equal greedy actions), ``max_abs_diff`` (of the logits, means or Q-values),
        ``states``; ``latency_s`` (``torch`` and ``onnxruntime`` or ``torchscript``: seconds per call by batch
        size ``"1"``, ``"64"``); ``target_met`` (a float file agrees on every on-policy state).

    Raises:
        UserError: see :func:`load`; an unknown format; a multi-agent, masked, gSDE or random agent; Dict
            observations; ``int8`` TorchScript of a policy with convolutions or attention; ``out`` of the wrong
            suffix, or existing without ``overwrite``. Nothing is written then.
    """
    agent = _loaded(run_dir_or_agent, env, algo, best, trust_pickle)
    options = ExportOptions(format, None if out is None else Path(out), int8, overwrite, states, seed, latency)
    return export_agent(agent, options)


def compress(run_dir_or_agent: PathLike | Agent, out: PathLike, *, distill: str | Sequence[str] | None = None,
             prune: float | Sequence[float] | None = None, int8: bool = False, structured: bool = False,
             finetune: int = 0, finetune_by: str | None = None, teachers: Sequence[PathLike] = (),
             steps: int = 50_000, temperature: float = 1.0, sweep: bool = False, plot: PathLike | None = None,
             episodes: int = 20, states: int = 1000, seed: int = 0, overwrite: bool = False,
             env: str | None = None, algo: str | None = None, best: bool = False, trust_pickle: bool = False
             ) -> dict[str, Any]:
    """Compress a trained agent into a new run directory, as ``gymsuite compress`` does
    (:mod:`gymsuite.agents.run.compressing`); evaluate, record, attack and explain take the new run.

    Exactly one method: ``distill``, ``prune`` or ``int8``.

    Args:
        run_dir_or_agent: the teacher: a run directory, a model ``.zip`` or an :class:`Agent` (ppo, a2c, pg or dqn
            with discrete actions; not recurrent, not multi-agent).
        out: the new run directory (with ``sweep``: a folder of them, ``OUT/<method>-<value>``).
        distill: the student: ``"16"``, ``"32,32"`` (its ``net_arch``) or ``"small_cnn@8:16"`` (an image run's
            backbone, its ``features_dim`` and the widths after it); a list of them with ``sweep``.
        prune: the fraction of weights set to zero, in (0, 1) (``structured``: of each hidden layer's units); a
            list of fractions with ``sweep``.
        int8: round every Linear weight through int8 (the report measures the really quantised module).
        structured: prune whole units of the ``net_arch`` layers: a smaller dense policy.
        finetune: env steps of training with ``prune`` (weights pruned gradually over the first half, the zeros
            kept) or after ``int8`` (quantisation-aware: the weights kept on their int8 grid); 0: none.
        finetune_by: that training: ``"teacher"`` (``prune``'s default: distillation from the unpruned teacher,
            on-policy, at ``temperature``) or ``"algo"`` (the run's algorithm on the env's reward; ``int8``'s only).
        teachers: more teacher runs for ``distill``: the labels are the ensemble's averaged distribution.
        steps: env steps of the distillation. temperature: the teachers' softmax temperature (below 1 sharper).
        sweep: one compression per value of ``distill`` or ``prune``: the return against the size.
        plot: the sweep's figure (default ``OUT/sweep.png``; its suffix names the format).
        episodes: greedy episodes of the return (teacher and compressed, the same seeds).
        states: on-policy states of the teacher on which the greedy actions are compared.
        seed: seeds the envs, the distillation and the fine-tuning.
        overwrite: replace an existing ``out``.
        env: see :func:`load`.
        algo: see :func:`load`.
        best: see :func:`load`.
        trust_pickle: see :func:`load`.

    Returns:
        ``compress.json``'s keys: ``method``, ``algo``, ``env``, ``teacher_run``, ``run_dir``, ``details`` (the
        method's: a distillation's ``history`` of agreement per round, a structured pruning's ``net_arch``, ...),
        ``states``, ``episodes``, ``seed``, ``teacher`` and ``compressed``, each with ``parameters``, ``nonzero``,
        ``bytes``, ``latency_b1``, ``latency_b64``, ``return_iqm``, ``return_ci``, ``returns`` (``compressed``
        also ``agreement``). With ``sweep``: ``method``, ``algo``, ``env``, ``teacher``, ``points`` (one per
        value) and ``plot``.

    Raises:
        UserError: not exactly one method; an existing ``out`` without ``overwrite``; a student not smaller than
            the teacher; a pruning fraction outside (0, 1); ``finetune_by`` without ``finetune``, or ``"teacher"``
            with ``int8``; ``int8`` on an attention or LSTM backbone; a recurrent,
            multi-agent, MaskablePPO or continuous-action agent; several values without ``sweep``. Nothing is
            written then.
    """
    chosen = [name for name, on in (("distill", distill is not None), ("prune", prune is not None), ("int8", int8))
              if on]
    if len(chosen) != 1:
        raise UserError(f"compress takes exactly one method, got {', '.join(chosen) or 'none'}",
                        "pass one of --distill SIZE, --prune FRACTION or --int8")
    method = chosen[0]
    given = distill if method == "distill" else prune
    values = [str(v) for v in ([given] if isinstance(given, str | float | int) else list(given or []))]
    if len(values) > 1 and not sweep:
        raise UserError(f"{len(values)} sizes given without --sweep", "pass --sweep for a curve, or one size")
    if plot is not None:
        if not sweep:
            raise UserError("--plot draws a sweep's curve", "add --sweep, or leave --plot out")
        check_plot_path(Path(plot), "--plot")
    _at_least_one("steps", steps)
    options = CompressOptions(method, size=values[0] if method == "distill" else None,
                              teachers=tuple(str(t) for t in teachers),
                              distill=DistillOptions(steps=steps, temperature=temperature),
                              fraction=_fraction(values[0]) if method == "prune" else None,
                              structured=structured, finetune=finetune, finetune_by=finetune_by, episodes=episodes,
                              states=states, seed=seed)
    teacher = _loaded(run_dir_or_agent, env, algo, best, trust_pickle)
    others = [load_agent(str(t), env=env, trust_pickle=trust_pickle) for t in teachers]
    if sweep:
        return compression.sweep(teacher, Path(out), options, values, others, overwrite,
                                 None if plot is None else Path(plot))
    return compressing.compress(teacher, Path(out), options, others, overwrite)


@overload
def make_env(spec: str, *, n_envs: None = None, seed: int = 0, hyperparams: Mapping[str, Any] | None = None,
             render_mode: str | None = None) -> gym.Env: ...


@overload
def make_env(spec: str, *, n_envs: int, seed: int = 0, hyperparams: Mapping[str, Any] | None = None,
             render_mode: str | None = None) -> VecEnv: ...


def make_env(spec: str, *, n_envs: int | None = None, seed: int = 0, hyperparams: Mapping[str, Any] | None = None,
             render_mode: str | None = None) -> gym.Env | VecEnv:
    """An environment as gymsuite's runs see it: one gymnasium env, or the SB3 ``VecEnv`` of ``n_envs`` copies.

    The wrappers are the pipeline's (:func:`gymsuite.envs.factory.make_env`): the run's ``env_kwargs`` and
    ``max_episode_steps``, its observation options (``pixels``, ``atari``, ``minigrid``, ``mask_velocity``,
    ``history``, a window backbone's context) and SB3's ``Monitor``; the reward wrappers and the
    normalisation of a training run are not added.

    Args:
        spec: env id, ``"package.module:Class"``, ``"path/to/file.py:Class"`` or a PettingZoo module (a
            multi-agent env comes as a ``VecEnv`` only).
        n_envs: None for one ``gymnasium.Env``; else the number of copies in the ``VecEnv``.
        seed: a ``VecEnv``'s copy ``i`` gets ``seed + i``; a single env is reset once with ``seed`` (so that
            its later ``reset()`` calls are reproducible) and its action space seeded.
        hyperparams: a run's hyperparameters (``agent.hyperparams``, or just ``{"mask_velocity": True}``);
            only the env's are used.
        render_mode: e.g. ``"rgb_array"``.

    Returns:
        A ``gymnasium.Env`` when ``n_envs`` is None, else a ``VecEnv``.

    Raises:
        UserError: an unknown env (with close matches) or hyperparameter, a bad observation option, ``n_envs``
            below 1, a multi-agent env without ``n_envs``.
    """
    hyper = copy.deepcopy(dict(hyperparams or {}))
    names = {name for algo in registry.available() for name in registry.get(algo).hyperparam_names()}
    check_keys(hyper, sorted(names), "hyperparameter")
    options = env_options(hyper, spec)
    _at_least_one("n_envs", n_envs)
    venv = factory.make_env(spec, n_envs=n_envs or 1, seed=seed, options=options, render_mode=render_mode)
    if n_envs is not None:
        return venv
    inner = venv.unwrapped
    if not isinstance(inner, DummyVecEnv):  # PettingZoo's bridge: agents x copies, no single env
        venv.close()
        raise UserError(f"{spec} is a multi-agent env, which comes only as a VecEnv of its agents",
                        "pass n_envs=1 (or more)")
    env = inner.envs[0]
    env.action_space.seed(seed)
    env.reset(seed=seed)
    return env


def continual(tasks: str | Sequence[str], method: str, steps_per_task: int, run_dir: PathLike, *, seed: int = 0,
              algo: str = "ppo", coef: float | None = None, hyperparams: Mapping[str, Any] | None = None,
              eval_episodes: int = 10, task_ids: bool = True) -> dict[str, Any]:
    """Train through a sequence of tasks and measure forgetting and transfer, as ``gymsuite continual`` does
    (:mod:`gymsuite.agents.continual.sequence`; the task format: :mod:`gymsuite.envs.tasks`).

    Args:
        tasks: ``"CartPole-v1; CartPole-v1 permute=3,2,1,0; CartPole-v1 length=2x"``, a list of task strings, or a
            YAML file (``tasks: [...]``); at least two tasks with the same observation and action spaces.
        method: ``finetune``, ``ewc``, ``l2``, ``replay``, ``packnet``, ``progressive`` (in order, from the previous
            task's policy),
            ``multitask`` (all tasks at once: the upper bound) or ``single`` (a fresh agent per task: the reference).
        steps_per_task: env steps per task (multitask: this many times the number of tasks).
        run_dir: the continual directory (one run directory per task, ``results.json``); the same call on it again
            continues an interrupted sequence.
        seed: seed of every run and evaluation. algo: an on-policy actor-critic for ewc, l2 and replay (ppo, a2c).
        coef: the penalty's weight (default: ewc 1000, l2 1, replay 1).
        hyperparams: the algorithm's hyperparameters (default: its tuned ones for the tasks' env).
        eval_episodes: greedy episodes per task in each evaluation.
        task_ids: append a one-hot task id to each task's observation (``taskid=i/T``), as Continual World does;
            without it, tasks that see one state differently (``signflip=true``) contradict each other.

    Returns:
        ``results.json``'s keys: ``matrix`` (R: row 0 the untrained policy, row i after task i, returns),
        ``normalized``, ``low``/``high`` (the normalisation), ``average_performance``, ``backward_transfer``,
        ``forward_transfer`` (each also ``_normalized``), ``forgetting`` (Continual World's), ``rows``, ``runs``.

    Raises:
        UserError: fewer than two tasks, an unknown parameter of a task's env (the message lists those it has),
            spaces that differ, an unknown method, a directory that holds another sequence; nothing is written then.
        KeyboardInterrupt: Ctrl-C or SIGTERM stopped the sequence (``gymsuite.agents.continual.sequence.Stopped``, with
            its ``signum`` and ``task``; the state is saved: call again to continue).
    """
    plan, parsed = sequence.make_plan(tasks, method, steps_per_task, seed, algo, coef, hyperparams, eval_episodes,
                                      task_ids)
    outcome = sequence.run_continual(plan, parsed, Path(run_dir))
    if outcome.interrupted:
        raise sequence.Stopped(f"continual stopped at task {outcome.task}; call again to continue", outcome.signum,
                               outcome.task)
    return outcome.results


def meta(family: str | Sequence[str], test: str | Sequence[str], method: str | Sequence[str], timesteps: int,
         adapt_steps: int | None, run_dir: PathLike, *, seed: int = 0, meta_batch: int = 2, inner_steps: int = 2048,
         step_size: float = 1.0, eval_episodes: int = 10, hyperparams: Mapping[str, Any] | None = None,
         trials: int = 2, test_tasks: int = 10) -> dict[str, Any]:
    """Learn an initialisation on a task family and adapt it to held-out tasks, as ``gymsuite meta`` does
    (:mod:`gymsuite.agents.meta.learning`; the task format: :mod:`gymsuite.envs.tasks`).

    Args:
        family: the training family, a task spec with ``LOW:HIGH`` ranges (``"CartPole-v1 length=0.5x:2x"``), several
            separated by ``;``, or a YAML file (``family: [...]``).
        test: the held-out tasks (``"CartPole-v1 length=3x; CartPole-v1 length=0.25x"``), outside the family's ranges;
            a whole-number range lists every value (``"metaworld:ML1/reach-v3 split=test task=0:9"``: ten goals);
            one with other ranges stands for ``test_tasks`` unseen draws from it (it may be the family itself:
            ``"gymsuite/TwoArmedBandit-v0 p0=0:1 p1=0:1"``).
        method: ``reptile``, ``fomaml`` (first-order MAML: query gradients of PPO's loss), ``multitask`` (PPO on a
            per-episode mixture of the family), ``scratch`` (a fresh initialisation), ``rl2`` (RL²: an LSTM policy
            meta-trained on trials of the family, adapting in its hidden state, no gradient step), or several:
            ``"reptile,multitask,scratch"`` (one table).
        timesteps: the meta-training budget in env steps (Reptile: ``meta_batch * inner_steps`` per iteration;
            multitask: one run of this many steps).
        adapt_steps: env steps of PPO on each held-out task from the initialisation (rounded up to whole rollouts);
            None only when the methods are ``rl2`` alone (it adapts within a trial).
        run_dir: the meta directory (``results.json``, ``METHOD/init``, ``METHOD/adapted_J``); the same call on it
            again continues an interrupted run.
        seed: seeds the task sampler, every run and every evaluation.
        meta_batch: tasks per Reptile / FOMAML iteration. inner_steps: PPO env steps on each of them.
        step_size: Reptile's epsilon (FOMAML's outer learning rate) in (0, 1], annealed linearly to 0.
        eval_episodes: greedy episodes per held-out task, before and after adaptation.
        hyperparams: PPO's hyperparameters (default: its tuned ones for the family's env; rl2:
            ``gymsuite.agents.meta.plan.RL2_DEFAULTS``).
        trials: rl2's episodes of one task per trial (its hidden state is kept across them; bandits: 1).
        test_tasks: draws from each ranged ``test`` task.

    Returns:
        ``results.json``'s keys: ``methods`` (per method: ``before``/``after``, the return on each held-out task;
        ``before_iqm``/``after_iqm``: ``{iqm, ci}`` over the held-out tasks; rl2: before is a trial's first
        episode, after its last, ``trial`` the whole trial's return, ``adaptation`` says so; on tasks that report
        success, Meta-World's: ``success_before``/``success_after``, each task's share of episodes that succeeded,
        their ``success_after_mean`` and ``success_after_iqm``), ``family``, ``test`` (the held-out tasks, draws
        included), ``iterations``, ``trials``.

    Raises:
        UserError: a family without ranges, a range bound that breaks the env (a bandit probability outside
            [0, 1]), a held-out task inside the family, tasks whose spaces differ, a count below 1, an unknown
            method, rl2 on an observation that is not a vector or without the lstm backbone, a directory that holds
            another run; nothing is written then.
        KeyboardInterrupt: Ctrl-C or SIGTERM stopped it (``gymsuite.agents.meta.learning.MetaStopped`` with its
            ``signum``; the state is saved: call again to continue).
    """
    plan, members, held_out = make_meta_plan(family, test, method, timesteps, adapt_steps, seed, meta_batch,
                                             inner_steps, step_size, eval_episodes, hyperparams, trials, test_tasks)
    outcome = metalearning.run_meta(plan, members, held_out, Path(run_dir))
    if outcome.interrupted:
        raise metalearning.MetaStopped(f"meta stopped ({outcome.where}); call again to continue", outcome.signum)
    return outcome.results


def _fraction(text: str) -> float:
    """A pruning fraction given as text (the range is checked with the other options)."""
    try:
        return float(text)
    except ValueError:
        raise UserError(f"the pruning fraction must be a number in (0, 1), got {text!r}", "e.g. --prune 0.9") from None


def _at_least_one(name: str, value: int | None) -> None:
    """Raise a :class:`UserError` when an optional count is below 1."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1):
        raise UserError(f"{name} must be an integer of at least 1, got {value!r}")
