"""Loading saved agents and rebuilding the environment they were trained on.

Used by evaluate, record_video, resume and DAgger's expert: a run directory,
a bare ``model.zip`` or ``random`` all come back as a :class:`LoadedAgent`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import json
import pickle
import sys
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib import MaskablePPO, RecurrentPPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.distributions import CategoricalDistribution, DiagGaussianDistribution
from stable_baselines3.common.policies import ActorCriticPolicy, BaseModel, BasePolicy
from stable_baselines3.common.vec_env import VecEnv, VecNormalize
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs

from gymsuite.agents.algorithms import registry
from gymsuite.agents.files.modelfile import ModelFile, UnknownAlgorithmError, read_model_file
from gymsuite.agents.files.normstats import load_pickled_stats, load_stats, pickled_stats_beside
from gymsuite.agents.files.rundir import RunDir
from gymsuite.agents.files.safeload import MOVED_MODULES, load_safely
from gymsuite.agents.observation import env_options
from gymsuite.common import legacy
from gymsuite.common.datafiles import DamagedFileError, torch_problem
from gymsuite.common.errors import UserError
from gymsuite.common.files import read_yaml
from gymsuite.common.spaces import same_space
from gymsuite.envs.factory import Wrapper, make_env
from gymsuite.envs.observation import EnvOptions
from gymsuite.envs.target import resolve_env
from gymsuite.envs.wrappers import DEFAULT_EPISODE_CAP, episode_cap
from gymsuite.supervised import recurrent


@dataclass
class LoadedAgent:
    """A model (None for the random agent) and what is known of its training.

    Attributes:
        model: the SB3 model, or None for ``random``.
        algo: registry name, or ``"random"``.
        env: the env spec it was trained on (None when unknown).
        run: its run directory, when loaded from one.
        hyperparams: the run's hyperparameters (env_kwargs, max_episode_steps, normalize).
        trained_env: the env spec of its run (``env`` may be another one, from ``--env``).
        trust_pickle: it was loaded with ``--trust-pickle`` (its run's pickled files may load too).
        pickled_stats: the pickled ``VecNormalize`` another tool saved with a bare zip (rl-baselines3-zoo's
            ``vecnormalize.pkl``), applied to its env; set only with ``trust_pickle``.

    A recurrent model (``backbone=lstm``: sb3-contrib's ``RecurrentPPO``) keeps its LSTM state
    between calls of :meth:`act`, the one place every command acts through.
    """

    model: BaseAlgorithm | None
    algo: str
    env: str | None
    run: RunDir | None = None
    hyperparams: dict[str, Any] | None = None
    trained_env: str | None = None
    trust_pickle: bool = False
    pickled_stats: Path | None = None
    memory: tuple[np.ndarray, ...] | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def env_options(self) -> EnvOptions:
        """The options its envs are built with (:func:`gymsuite.agents.observation.env_options` of its run's
        hyperparameters), parsed once."""
        return env_options(self.hyperparams, self.env)

    def act(self, obs: VecEnvObs, venv: VecEnv, deterministic: bool = True, *, episode_start: np.ndarray
            ) -> np.ndarray:
        """Actions ``(N, ...)`` for observations ``(N, ...)`` of ``venv`` (random: sampled from the action space).

        ``episode_start`` ``(N,)`` bool: which envs begin an episode with ``obs``: all of them after
        ``venv.reset()``, else the ``dones`` of the step that returned ``obs`` (a ``VecEnv`` resets an
        env that is done). A masked model takes the legal moves from ``venv`` (``SeatEnv.action_masks()``).
        """
        if self.model is None:
            return np.stack([venv.action_space.sample() for _ in range(venv.num_envs)])
        masks = np.stack(venv.env_method("action_masks")) if isinstance(self.model, MaskablePPO) else None
        return self.decide(obs, deterministic, episode_start=episode_start, action_masks=masks)

    def decide(self, obs: VecEnvObs, deterministic: bool = True, *, episode_start: np.ndarray | None = None,
               action_masks: np.ndarray | None = None) -> np.ndarray:
        """The model's actions ``(N, ...)`` for observations ``(N, ...)`` as the model sees them: the one place a
        saved agent's model is asked (by :meth:`act` on a ``VecEnv``, and by ``gymsuite.api.Agent.act``).

        Args:
            obs: a batch of observations, normalised and transposed as in training.
            deterministic: the greedy action, else one sampled from the policy.
            episode_start: ``(N,)`` bool, recurrent models only: True where ``obs`` begins an episode. The LSTM
                state is zeroed there and carried elsewhere (:attr:`memory`: ``(h, c)``, each ``(layers, N,
                hidden)``); when all of them begin one, the state is forgotten (the batch size may change).
            action_masks: ``(N, A)`` bool, for a masked model (MaskablePPO): the legal actions.
        """
        assert self.model is not None, "the random agent has no model to ask"
        assert not isinstance(obs, tuple), "SB3 policies take array or dict observations"
        if isinstance(self.model, MaskablePPO):
            actions, _ = self.model.predict(obs, deterministic=deterministic, action_masks=action_masks)
            return actions
        if not self.recurrent:
            policy = self.model.policy
            if deterministic and not policy.training and type(policy).predict is BasePolicy.predict:
                return _greedy(policy, obs)
            actions, _ = self.model.predict(obs, deterministic=deterministic)
            return actions
        starts = np.asarray(episode_start, dtype=bool).reshape(-1)
        if starts.all():
            self.memory = None
        actions, self.memory = self.model.predict(obs, self.memory, starts, deterministic=deterministic)
        return actions

    @property
    def recurrent(self) -> bool:
        """The model carries a hidden state across steps (``backbone=lstm``)."""
        return isinstance(self.model, RecurrentPPO)


def _greedy(policy: BasePolicy, obs: np.ndarray | dict[str, np.ndarray]) -> np.ndarray:
    """``policy.predict(obs, deterministic=True)[0]`` for a policy already in eval mode, without ``predict``'s
    switch to eval mode at every call: a walk over every submodule, about a third of a small policy's ``predict``
    (measured in the demo's evaluations), repeated at every step of every evaluation. The rest is SB3's own steps
    (every algorithm gymsuite evaluates greedily asks its policy this way, DQN included)."""
    obs_tensor, vectorized = policy.obs_to_tensor(obs)
    with th.no_grad():
        actions = _greedy_tensor(policy, obs_tensor).cpu().numpy()
    actions = actions.reshape((-1, *(policy.action_space.shape or ())))
    if isinstance(policy.action_space, spaces.Box):
        actions = (policy.unscale_action(actions) if policy.squash_output
                   else np.clip(actions, policy.action_space.low, policy.action_space.high))
    return actions if vectorized else actions.squeeze(axis=0)


def _greedy_tensor(policy: BasePolicy, obs: Any) -> th.Tensor:
    """``policy._predict(obs, deterministic=True)``, the same numbers, without building the action distribution
    for an actor-critic policy with a categorical or diagonal Gaussian head (SB3's own, not overridden): building
    the distribution (argument checks, a ``Normal`` or ``Categorical`` object) is a third of a small policy's greedy
    step (``_predict`` 90 us, this 61 us, a 64 x 64 policy on 5 CartPole observations; a 15-episode CartPole
    evaluation took 0.43 s against 0.50 s, medians of 6 alternating, 2026-12-05).
    The mode is computed by the same operations the distribution performs: the Gaussian's mean is the action
    head's output; the categorical's is the argmax of ``softmax(logits - logsumexp(logits))``, as
    ``torch.distributions.Categorical(logits=...).probs`` computes it, so ties resolve the same way."""
    head = type(getattr(policy, "action_dist", None))
    if isinstance(policy, ActorCriticPolicy) and head in (CategoricalDistribution, DiagGaussianDistribution) and all(
            getattr(type(policy), name) is getattr(ActorCriticPolicy, name)
            for name in ("_predict", "get_distribution", "_get_action_dist_from_latent")):
        # BaseModel's, as SB3's get_distribution calls it: a policy's own extract_features (MAPPO's, the progressive
        # and domain-adversarial ones) is not the actor's path, and the ONNX export's ActorExport calls that one.
        features = BaseModel.extract_features(policy, obs, policy.pi_features_extractor)
        out = policy.action_net(policy.mlp_extractor.forward_actor(features))
        if head is DiagGaussianDistribution:
            return out
        return th.argmax(th.softmax(out - out.logsumexp(dim=-1, keepdim=True), dim=-1), dim=1)
    return policy._predict(obs, deterministic=True)


def load_agent(target: str, algo: str | None = None, env: str | None = None, which: str = "model",
               trust_pickle: bool = False) -> LoadedAgent:
    """Load ``target``: a run directory, a model ``.zip`` or ``"random"``.

    Args:
        target: what to load.
        algo: algorithm name, needed only for a bare zip that is not from a run.
        env: the env spec; defaults to the run's.
        which: ``"model"`` (final) or ``"best"`` (best periodic evaluation) in a run directory.
        trust_pickle: allow SB3's unpickling load and pickled normaliser statistics (see ``--trust-pickle``).
    """
    if target == "random":
        if env is None:
            raise UserError("the random agent needs an environment", "pass --env ENV")
        return LoadedAgent(None, "random", env)
    path = Path(target)
    run = None
    if path.is_dir():
        run = RunDir(path)
        if not run.is_run():
            raise UserError(f"{path} is not a run directory (no config.yaml)", "pass a run directory or a model .zip")
        cfg = read_yaml(run.config)
        algo = algo or cfg.get("algo")
        env = env or cfg.get("env")
        path = run.best_model if which == "best" else run.model
        if not path.is_file():
            raise UserError(f"{run.root} has no {path.name} (training did not finish?)",
                            f"resume it with: gymsuite train --resume {run.root}")
    elif not path.is_file():
        raise UserError(f"no such run directory or model file: {target}")
    elif path.parent.joinpath("config.yaml").is_file():  # a zip inside a run directory
        run = RunDir(path.parent)
        cfg = read_yaml(run.config)
        algo, env = algo or cfg.get("algo"), env or cfg.get("env")
    else:
        cfg = {}
    try:  # the zip's readable metadata, read once for the three checks below
        info: ModelFile | None = read_model_file(path)
    except UserError:  # not a readable zip: load_model_file says what is wrong with it
        info = None
    spec = registry.get(algo or _guess_algo(path, info))
    hyper = _recurrence(spec, dict(cfg.get("hyperparams") or {}), path, info, from_run=run is not None)
    _check_algo_fits(spec, path, info)
    model = load_model_file(spec.model_class(hyper), path, trust_pickle)
    stats = _pickled_stats(path, trust_pickle) if run is None else None
    return LoadedAgent(model, spec.name, env, run, hyper, cfg.get("env"), trust_pickle, stats)


def _pickled_stats(model_zip: Path, trust_pickle: bool) -> Path | None:
    """The pickled normalisation statistics another tool keeps with ``model_zip``, when trusted; a note either way.

    Without them the model acts on raw observations it was not trained on, so its returns mean little.
    """
    found = pickled_stats_beside(model_zip)
    if found is None:
        return None
    if trust_pickle:
        print(f"note: applying the normalisation statistics of {found} (--trust-pickle)", file=sys.stderr)
        return found
    print(f"note: {found} holds the observation normalisation {model_zip} was trained with, which gymsuite did not "
          "apply: it is a pickle, and unpickling runs whatever code the file carries; the model acts on raw "
          "observations. If you trust the file, pass --trust-pickle to apply it", file=sys.stderr)
    return None


def _recurrence(spec: registry.AlgoSpec, hyper: dict[str, Any], path: Path, info: ModelFile | None,
                from_run: bool) -> dict[str, Any]:
    """``hyper``, with ``backbone: lstm`` added for a bare recurrent zip; a :class:`UserError` when the zip's
    policy and the class that would load it disagree about carrying a hidden state.

    A recurrent zip (sb3-contrib's ``RecurrentPPO``) loads only as ``spec.recurrent``; a run whose
    ``config.yaml`` says ``backbone: lstm`` has a recurrent zip.
    """
    if info is None:
        return hyper
    if info.recurrent and (spec.recurrent is None or not recurrent.is_lstm(hyper)):
        if spec.recurrent is None or from_run:
            loader = f"--algo {spec.name}" if spec.recurrent is None else "its run's config.yaml (no backbone: lstm)"
            raise UserError(f"{path} holds a recurrent policy (sb3-contrib RecurrentPPO, backbone=lstm), which "
                            f"{loader} would load as a non-recurrent model",
                            f"pass --algo {', '.join(registry.recurrent_names())} with the run directory that saved "
                            "it, or the bare zip (in plain Python: sb3_contrib.RecurrentPPO.load)")
        return {**hyper, "backbone": recurrent.NAME}
    if recurrent.is_lstm(hyper) and not info.recurrent and not _unknown(info):
        raise UserError(f"{path} holds a non-recurrent policy ({info.algo_class or info.policy_module}), but its run's "
                        "config.yaml says backbone: lstm", "load the model.zip of the lstm run, or load this zip "
                        "alone with --algo (in plain Python: stable_baselines3.PPO.load)")
    return hyper


def _unknown(info: ModelFile) -> bool:
    """The zip does not name its policy's module (nothing to compare)."""
    return not info.policy_module


@contextlib.contextmanager
def _old_module_names() -> Iterator[None]:
    """Make the modules that older zips name importable by those names while SB3 unpickles one: those of
    :data:`~gymsuite.agents.files.safeload.MOVED_MODULES`, and every loaded gymsuite module under its name
    from before 0.2 (``gymsuite.supervised.cnns`` as ``supervised.cnns``). A name already taken (a user's
    own ``envs`` package) is left alone."""
    lent = {old: importlib.import_module(new) for old, new in MOVED_MODULES.items()}
    for name, module in list(sys.modules.items()):
        short = name.removeprefix("gymsuite.")
        if short != name and short.split(".", 1)[0] in legacy.PACKAGES:
            lent.setdefault(short, module)
    added = [old for old in lent if old not in sys.modules]
    for old in added:
        sys.modules[old] = lent[old]
    try:
        yield
    finally:
        for old in added:
            sys.modules.pop(old, None)


_MODEL_FIX = "retrain, or use a checkpoint from the run's checkpoints/ folder"


def load_model_file(cls: type[BaseAlgorithm], path: Path, trust_pickle: bool = False,
                    overrides: dict[str, Any] | None = None) -> BaseAlgorithm:
    """Load ``path`` as ``cls`` without unpickling (:func:`gymsuite.agents.files.safeload.load_safely`).

    With ``trust_pickle``, SB3's own ``cls.load`` (which unpickles the zip's objects) for files the
    safe path refuses; either way a corrupt or foreign file gets a clear error. ``overrides``: see
    :func:`~gymsuite.agents.files.safeload.load_safely` (a resume's own schedules and ``train_freq``).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
        if bad is not None:
            raise zipfile.BadZipFile(f"member {bad} is damaged")
        if not trust_pickle:
            return load_safely(cls, path, registry.saved_classes(), overrides)
        with _old_module_names():
            return cls.load(path, device="cpu")
    except ModuleNotFoundError as err:  # a class saved by code that is not installed here
        raise UserError(f"{path} names the Python module {err.name!r}, which is not installed",
                        f"install the package that saved the model (it provides {err.name}), or retrain it "
                        "with gymsuite") from err
    except pickle.UnpicklingError as err:  # a .pth member that is not plain tensors (torch.load(weights_only=True))
        raise DamagedFileError(path, f"a loadable {cls.__name__} model", torch_problem(err), _MODEL_FIX) from err
    # AssertionError: SB3's "No data found in the saved file" (a zip cut short, or one without its data member)
    except (zipfile.BadZipFile, EOFError, KeyError, ValueError, RuntimeError, json.JSONDecodeError,
            AssertionError) as err:
        raise DamagedFileError(path, f"a loadable {cls.__name__} model", f"corrupt or truncated ({err})",
                               _MODEL_FIX) from err


def _guess_algo(path: Path, info: ModelFile | None) -> str:
    """The registry name of the algorithm that saved ``path``, from its metadata ``info`` (:func:`read_model_file`):
    the algorithm a gymsuite zip names, else the one whose spec claims the class that saved it
    (:attr:`~gymsuite.agents.algorithms.spec.AlgoSpec.zip_classes`).

    Raises:
        UnknownAlgorithmError: the file does not tell, or names an algorithm gymsuite does not train.
        UserError: ``path`` is not a readable SB3 zip (``info`` is None).
    """
    info = info or read_model_file(path)  # None: raises, saying what is wrong with the file
    name = _owner(info)
    if name is None:
        raise UnknownAlgorithmError(info, f"cannot tell which algorithm saved {path}", "pass --algo (e.g. --algo ppo)")
    return name


def _owner(info: ModelFile) -> str | None:
    """The registered algorithm that saved the zip ``info`` describes, when the file tells."""
    return info.algo if info.algo in registry.available() else registry.zip_owner(info.algo_class)


def _check_algo_fits(spec: registry.AlgoSpec, path: Path, info: ModelFile | None) -> None:
    """Refuse to load ``path`` as ``spec`` when the zip's policy belongs to another algorithm family.

    PPO, A2C and the policy gradient share SB3's actor-critic policy and load each other's zips;
    a DQN zip read as PPO (or the reverse) would fail deep inside SB3 with an ``AttributeError``.

    Raises:
        UserError: ``path`` was saved by an algorithm ``spec`` cannot load (``info`` None: not a readable zip,
            which ``load_model_file`` reports).
    """
    if info is None:
        return
    policy = spec.cls.policy_aliases.get("MlpPolicy")
    wanted = policy.__module__ if policy is not None else ""
    sb3 = "stable_baselines3."
    if not (info.policy_module.startswith(sb3) and wanted.startswith(sb3)) or info.policy_module == wanted:
        return
    saved_by = info.algo_class or f"an algorithm with the policy module {info.policy_module}"
    right = _owner(info)
    raise UserError(f"{path} was saved by {saved_by}, so --algo {spec.name} cannot load it",
                    f"pass --algo {right} or leave --algo out" if right else "pass the --algo that trained it")


def make_agent_env(agent: LoadedAgent, seed: int = 0, n_envs: int = 1, render_mode: str | None = None,
                   wrappers: Sequence[Wrapper] = (), max_episode_steps: int | None = None,
                   normalize: bool = False, env_kwargs: Mapping[str, Any] | None = None) -> VecEnv:
    """The env ``agent`` acts in, as its model saw it in training; the one place that builds it.

    In order: the run's env kwargs and time limit, a step cap on every episode, the run's frozen
    observation normalisation, then the observation pipeline SB3 put between the env and the
    model (image observations transposed to channels first), and a check of the spaces.

    Args:
        agent: the loaded agent.
        seed: base seed of the envs.
        n_envs: envs side by side (N).
        render_mode: e.g. ``"rgb_array"`` for recording.
        wrappers: go around each env inside ``Monitor`` (e.g. a perturbed start for a robustness test).
        max_episode_steps: cut every episode after this many steps (:class:`gymsuite.envs.wrappers.EpisodeCap`,
            which marks ``info["episode_capped"]``); by default the env's own time limit, else
            :data:`gymsuite.envs.wrappers.DEFAULT_EPISODE_CAP`, so that a policy that never ends an episode cannot hang.
        normalize: without a run's statistics, add a frozen ``VecNormalize`` whose statistics the
            caller fills (training's periodic evaluation copies the training env's).
        env_kwargs: constructor arguments added to the run's (``gymsuite shift``'s constructor-keyword parameters).

    A run trained with ``randomize`` (domain randomisation) is evaluated at the env's nominal parameters: the
    ranges are left out here (``gymsuite shift`` evaluates it over a grid of values).
    """
    if agent.env is None:
        raise UserError("no environment known for this model", "pass --env ENV")
    # a run trained with domain randomisation acts at the nominal parameters (gymsuite shift varies them)
    options = dataclasses.replace(agent.env_options, randomize=None,
                                  env_kwargs={**agent.env_options.env_kwargs, **(env_kwargs or {})})
    # the bridge caps episodes itself (gymnasium wrappers cannot wrap a PettingZoo env)
    if resolve_env(agent.env).multiagent:
        cap = max_episode_steps or options.max_episode_steps or DEFAULT_EPISODE_CAP
        options, extra = dataclasses.replace(options, max_episode_steps=cap), list(wrappers)
    else:
        extra = [*wrappers, episode_cap(max_episode_steps)]
    venv: VecEnv = make_env(agent.env, n_envs=n_envs, seed=seed, options=options, render_mode=render_mode,
                            wrappers=extra)
    norm = None
    if agent.run is not None and (agent.run.vecnormalize.is_file() or agent.run.legacy_vecnormalize.is_file()):
        norm = load_stats(agent.run.vecnormalize, venv, agent.run.legacy_vecnormalize, agent.trust_pickle)
    elif agent.pickled_stats is not None:  # another tool's, only with --trust-pickle
        norm = load_pickled_stats(agent.pickled_stats, venv)
    if norm is not None:
        norm.training, norm.norm_reward = False, False
        venv = _keep_metadata(norm, venv)
    elif normalize:
        venv = _keep_metadata(VecNormalize(venv, training=False, norm_reward=False), venv)
    venv = as_model_sees(venv)
    if agent.model is not None:
        check_spaces(agent.model, venv, agent.env, agent.trained_env)
    return venv


def as_model_sees(venv: VecEnv) -> VecEnv:
    """``venv`` behind the observation wrappers SB3 adds when a model is built on it.

    SB3's ``BaseAlgorithm._wrap_env`` transposes image observations ``(H, W, C)`` to ``(C, H, W)``
    (``VecTransposeImage``) and the model's saved observation space is the transposed one; the
    same call here makes evaluation, recording and training's periodic evaluation see what the
    model saw. Non-image envs come back unchanged.
    """
    return _keep_metadata(BaseAlgorithm._wrap_env(venv, verbose=0, monitor_wrapper=False), venv)


def _keep_metadata(outer: VecEnv, inner: VecEnv) -> VecEnv:
    """SB3's ``VecEnvWrapper`` keeps only ``render_modes`` of the metadata; keep ``render_fps`` too (videos)."""
    if outer is not inner:
        outer.metadata = {**inner.metadata, **outer.metadata}
    return outer


def check_spaces(model: BaseAlgorithm, venv: VecEnv, env_name: str, trained_env: str | None = None) -> None:
    """Raise a :class:`UserError` when ``model`` was trained on spaces other than ``venv``'s.

    Args:
        model: the loaded model.
        venv: the env as the model sees it (:func:`as_model_sees`).
        env_name: the env spec ``venv`` was built from.
        trained_env: the env spec of the model's run, when known.
    """
    for kind, want, got in (("observation", model.observation_space, venv.observation_space),
                            ("action", model.action_space, venv.action_space)):
        if not same_space(want, got):
            if trained_env is None:
                fix = "pass --env with the environment the model was trained on"
            elif trained_env != env_name:
                fix = f"the model was trained on {trained_env}: leave out --env, or pass an env with the same spaces"
            else:
                fix = (f"{env_name} has changed since the model was trained on it (its env code or env_kwargs): "
                       "restore them, or retrain")
            raise UserError(f"the model does not fit {env_name}: it expects the {kind} space {want}, "
                            f"but the env has {got}", fix)
