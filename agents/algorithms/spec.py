"""The plug-in point of an algorithm: its :class:`AlgoSpec`, and the :class:`TrainContext` a custom ``learn`` gets.

An algorithm either is a stable-baselines3 ``BaseAlgorithm`` trained by ``model.learn``
(PPO, A2C, DQN, the policy-gradient versions), or provides its own ``learn`` function
(imitation learning) that still returns an SB3 model, so saving, loading, evaluating and
recording stay uniform. ``agents/algorithms/registry.py`` lists every spec by name.

A spec is the whole plug-in: besides how to build and train the model it declares what the rest of
gymsuite asks of an algorithm (which envs and backbones it trains, the classes its zips carry and name,
its search space, its own checks of a run), so no other module keeps a list of algorithm names.

The run pipeline (``agents/run/training.py``) builds the context; it is defined here,
below the pipeline, so that algorithms type it without importing the pipeline. The run's
config and directory appear as the attributes algorithms read (:class:`RunSettings`,
:class:`RunPaths`), which ``gymsuite.agents.run.config.RunConfig`` and ``gymsuite.agents.files.rundir.RunDir``
have.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.vec_env import VecEnv

from gymsuite.envs.observation import EnvOptions
from gymsuite.rewards.curiosity import CuriosityCallback
from gymsuite.supervised import recurrent

#: The shipped search spaces of ``gymsuite tune`` (``agents/hyperparams/spaces/<algo>.yml``).
SPACES_DIR = Path(__file__).resolve().parent.parent / "hyperparams" / "spaces"

# The kinds of env an algorithm may train on (:attr:`AlgoSpec.env_kinds`).
SINGLE = "single-agent"  # a gymnasium env (one agent)
PARALLEL = "parallel multi-agent"  # a parallel PettingZoo env, through gymsuite's bridge (done agents masked)
TURN_BASED = "turn-based"  # a turn-based two-player game (PettingZoo AEC, one seat moves at a time, action masks)

# Keys a hyperparameter file may hold that are not constructor arguments of the
# algorithm: they configure the environment or the run (rl-baselines3-zoo names), what the
# agent sees (``atari``, ``pixels``, ``minigrid``, ``history``, ``multiagent``: gymsuite.envs.observation), or the
# policy's
# perception:
# its backbone (``gymsuite.agents.run.config.model_kwargs`` turns them into policy_kwargs), auxiliary
# losses, pre-trained and frozen backbones (gymsuite.agents.run.auxiliary).
# An algorithm's own keys of that kind are its spec's ``run_keys`` (selfplay's ``selfplay``).
RUN_KEYS = frozenset({"n_envs", "n_timesteps", "policy", "normalize", "env_kwargs", "max_episode_steps",
                      "atari", "pixels", "minigrid", "history", "mask_velocity", "multiagent", "backbone",
                      "backbone_kwargs", "aux", "aux_coef", "aux_kwargs", "backbone_init", "freeze_backbone",
                      "augment", "randomize", "adversarial", "smooth", "continual", "domain_adversarial"})


class RunSettings(Protocol):
    """What an algorithm reads of the run's config, read-only (``gymsuite.agents.run.config.RunConfig``, frozen,
    documents each)."""

    @property
    def env(self) -> str: ...

    @property
    def seed(self) -> int: ...

    @property
    def n_envs(self) -> int: ...

    @property
    def timesteps(self) -> int: ...

    @property
    def hyperparams(self) -> dict[str, Any]: ...

    @property
    def demos(self) -> str | None: ...

    @property
    def expert(self) -> str | None: ...

    @property
    def shaping(self) -> str | dict[str, Any] | None: ...

    @property
    def curiosity(self) -> str | None: ...

    @property
    def learned_reward(self) -> str | None: ...


class RunPaths(Protocol):
    """Where an algorithm writes its own files in the run directory (``gymsuite.agents.files.rundir.RunDir``)."""

    @property
    def root(self) -> Path: ...

    @property
    def logs(self) -> Path: ...


class ExpertLoader(Protocol):
    """Loads ``--expert`` (a run directory or a model zip) as a policy on raw observations; returns it and its env.

    The run pipeline hands algorithms ``gymsuite.agents.saved.experts.load_expert``: loading a saved agent
    needs this registry of algorithms, so the algorithms get the loader rather than import it.
    """

    def __call__(self, target: str, env: str | None = None, algo: str | None = None,
                 trust_pickle: bool = False) -> tuple[BasePolicy, str]: ...


@dataclass
class TrainContext:
    """What a run is made of; handed to algorithms with their own ``learn`` (imitation).

    Attributes:
        cfg: the run's config.
        spec: the algorithm being trained.
        venv: the training env; an algorithm may replace it (and closes the one it replaces),
            the pipeline closes whichever is here at the end.
        model: the model being trained.
        run: the run directory.
        callbacks: the run's callbacks (progress bar, checkpoints, evaluation, ...), set by the pipeline.
        curiosity: the curiosity callback when ``--curiosity`` is on (it saves and loads its model).
        trust_pickle: ``--trust-pickle``: files the run loads (an expert) may be unpickled.
        load_expert: how to load ``--expert`` (DAgger asks it to label states), set by the pipeline.
        env_options: how the run's envs are built (an algorithm that builds one, e.g. GAIL's absorbing states).
    """

    cfg: RunSettings
    spec: AlgoSpec
    venv: VecEnv
    model: BaseAlgorithm
    run: RunPaths
    callbacks: list[BaseCallback]
    curiosity: CuriosityCallback | None = None
    trust_pickle: bool = False
    load_expert: ExpertLoader | None = None
    env_options: EnvOptions = field(default_factory=EnvOptions)


#: ``(model, total_timesteps, callback, context) -> model``: an algorithm's replacement for ``model.learn``.
Learn = Callable[[BaseAlgorithm, int, BaseCallback, TrainContext], BaseAlgorithm]

#: ``(run) -> None``: an algorithm's own checks of a run's config, before anything is built or written; raises a
#: ``UserError``, and changes nothing (what an algorithm decides itself is its :data:`Decide`).
Check = Callable[[RunSettings], None]
#: ``(run, venv) -> None``: an algorithm's checks of a run that need its built env (the demonstrations fit its
#: spaces), run before anything is written; raises a ``UserError``.
CheckBuilt = Callable[[RunSettings, VecEnv], None]
#: An algorithm's decided hyperparameters: a new mapping from the validated one (mappo's ``multiagent.state``).
Decide = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class AlgoSpec:
    """How to build, train and load one algorithm.

    Attributes:
        name: registry name (lower case), e.g. ``"ppo"``.
        cls: the SB3 class whose ``load`` reads this algorithm's ``model.zip``.
        action_spaces: action-space types the algorithm can act in.
        description: one line for ``--help`` listings.
        build: optional factory ``(policy, env, kwargs) -> model``; defaults to
            ``cls(policy, env, **kwargs)``.
        extra_keys: hyperparameters accepted besides ``cls.__init__``'s arguments
            (consumed by ``build`` or ``learn``).
        learn: optional replacement for ``model.learn`` (imitation learning), see :data:`Learn`.
        recurrent: the class that trains and loads this algorithm with ``backbone=lstm`` (PPO: sb3-contrib's
            ``RecurrentPPO``); None: the algorithm cannot carry a hidden state across steps.
        env_kinds: the kinds of env it trains on (:data:`SINGLE`, :data:`PARALLEL`, :data:`TURN_BASED`).
        window: its policy reads a window of observations (the ``framestack`` and ``transformer`` backbones).
        zip_classes: the names of the classes whose saved zips are this algorithm's
            (``gymsuite.agents.files.modelfile.ModelFile.algo_class``): a bare zip of one loads as this algorithm.
        saved_classes: gymsuite classes its zips may name (policies, rollout buffers, features extractors), which
            the loader that never unpickles accepts beside SB3's.
        run_keys: hyperparameters of its own that configure the run, not the model (consumed by ``learn``);
            another algorithm refuses them.
        space: its search space for ``gymsuite tune`` (a YAML file, see ``gymsuite.agents.sweeps.space``), or None.
        check: its own checks of a run (:data:`Check`), e.g. imitation's ``--demos``/``--expert``.
        check_built: its own checks that need the run's built env (:data:`CheckBuilt`), e.g. that imitation's
            demonstrations fit the env's spaces.
        decide: the hyperparameters it decides itself (:data:`Decide`), before the run's config is made;
            nothing changes them afterwards.
        variant_of: the algorithm this one is a short name for, with one hyperparameter fixed (``pg4``: ``pg`` at
            ``version=4``): it takes that one's shipped defaults (:attr:`defaults_name`), its search space and
            its window backbones, and the list of those that take one (``registry.window_names``) names that one
            only. None: an algorithm of its own.
    """

    name: str
    cls: type[BaseAlgorithm]
    action_spaces: tuple[type[spaces.Space], ...]
    description: str
    build: Callable[[str, Any, dict[str, Any]], BaseAlgorithm] | None = None
    extra_keys: frozenset[str] = field(default_factory=frozenset)
    learn: Learn | None = None
    recurrent: type[BaseAlgorithm] | None = None
    env_kinds: frozenset[str] = frozenset({SINGLE})
    window: bool = False
    zip_classes: tuple[str, ...] = ()
    saved_classes: tuple[type, ...] = ()
    run_keys: frozenset[str] = field(default_factory=frozenset)
    space: Path | None = None
    check: Check | None = None
    check_built: CheckBuilt | None = None
    decide: Decide | None = None
    variant_of: str | None = None

    @property
    def defaults_name(self) -> str:
        """The name of its shipped defaults' files: ``agents/hyperparams/<defaults_name>.yml`` and the gymsuite
        preset's ``agents/hyperparams/gymsuite/<defaults_name>.yml``."""
        return self.variant_of or self.name

    def hyperparam_names(self) -> frozenset[str]:
        """All hyperparameter keys this algorithm accepts (constructor + extra + run keys)."""
        params = set(inspect.signature(self.cls.__init__).parameters) - {"self", "policy", "env", "args", "kwargs"}
        return frozenset(params) | self.extra_keys | RUN_KEYS | self.run_keys

    def model_keys(self, hyper: dict[str, Any]) -> dict[str, Any]:
        """The entries of ``hyper`` that go to the model's constructor (or ``build``): all but the run keys."""
        return {k: v for k, v in hyper.items() if k not in RUN_KEYS and k not in self.run_keys}

    def discount(self, hyper: dict[str, Any]) -> float | None:
        """The agent's discount under ``hyper``: its ``gamma``, else the model class's default (None: it has none)."""
        if "gamma" in hyper:
            return float(hyper["gamma"])
        default = inspect.signature(self.model_class(hyper).__init__).parameters.get("gamma")
        if default is None or not isinstance(default.default, int | float):
            return None
        return float(default.default)

    def decided(self, hyper: dict[str, Any]) -> dict[str, Any]:
        """``hyper`` with what the algorithm decides itself (:attr:`decide`); a new mapping, ``hyper`` unchanged."""
        return dict(hyper) if self.decide is None else self.decide(hyper)

    def check_run(self, run: RunSettings) -> None:
        """Run the algorithm's own :attr:`check` on ``run`` (nothing when it has none)."""
        if self.check is not None:
            self.check(run)

    def check_built_run(self, run: RunSettings, venv: VecEnv) -> None:
        """Run the algorithm's own :attr:`check_built` on ``run`` and its built ``venv`` (nothing when it has none)."""
        if self.check_built is not None:
            self.check_built(run, venv)

    def supports(self, action_space: spaces.Space) -> bool:
        """Whether the algorithm can act in ``action_space``."""
        return isinstance(action_space, self.action_spaces)

    def model_class(self, hyper: dict[str, Any]) -> type[BaseAlgorithm]:
        """The class that builds, saves and loads this algorithm's model with hyperparameters ``hyper``.

        The one place that decides it: ``backbone=lstm`` -> :attr:`recurrent` (``gymsuite.agents.run.config``
        refuses lstm where it is None), else :attr:`cls`.
        """
        if recurrent.is_lstm(hyper) and self.recurrent is not None:
            return self.recurrent
        return self.cls

    def make_model(self, policy: str, env: Any, kwargs: dict[str, Any], hyper: dict[str, Any] | None = None
                   ) -> BaseAlgorithm:
        """Build a fresh model (no training) of :meth:`model_class` for ``hyper``."""
        cls = self.model_class(hyper or {})
        if cls is not self.cls:
            return cls(policy, env, **kwargs)
        if self.build is not None:
            return self.build(policy, env, kwargs)
        return self.cls(policy, env, **kwargs)
