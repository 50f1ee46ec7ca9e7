"""The config loader: one place that turns defaults, a config file and CLI flags into a run's config.

Precedence, lowest first:
  1. ``agents/hyperparams/<algo>.yml``: the entry for the env id, else ``default`` (and the entry's defaults for
     the run's backbone, :func:`defaults_for`);
  2. ``--config FILE.yaml`` (a mapping of :class:`RunConfig` fields; a run's own
     ``config.yaml`` is such a file, so ``--config runs/x/config.yaml`` reruns it);
  3. command-line flags and ``--hyperparams key=value``.

Unknown keys and bad values are rejected here, before anything touches the disk.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import yaml
from stable_baselines3.common.utils import LinearSchedule
from stable_baselines3.common.vec_env import VecNormalize

from gymsuite.agents.algorithms import registry
from gymsuite.agents.algorithms.spec import PARALLEL, SINGLE, TURN_BASED
from gymsuite.agents.observation import env_options
from gymsuite.agents.run import adversarial, continual, domain
from gymsuite.agents.run.auxiliary import check_options
from gymsuite.agents.run.options import uses_image_backbone
from gymsuite.agents.run.policycheck import check_policy_kwargs
from gymsuite.agents.run.runconfig import FIELDS, PRESETS, RunConfig
from gymsuite.common.errors import UserError, closest_hint
from gymsuite.common.files import load_yaml, read_yaml
from gymsuite.common.options import Rule, check, check_keys, check_value
from gymsuite.envs.observation import check_observation_options
from gymsuite.envs.target import EnvKind, EnvTarget, classify_env
from gymsuite.envs.thresholds import target_return
from gymsuite.supervised import backbones, recurrent
from gymsuite.supervised.memory import WINDOW_BACKBONES, context_of

HYPERPARAMS_DIR = Path(__file__).resolve().parent.parent / "hyperparams"

# The rule of each numeric hyperparameter (SB3's names; the other hyperparameters are checked by SB3).
# Every one is finite: nan or inf would pass SB3's constructors and crash (or poison the weights) mid-run.
_NUMERIC: dict[str, Rule] = {
    "n_envs": Rule(int, low=1),
    "n_timesteps": Rule(int, low=1),
    "n_steps": Rule(int, low=1),
    "batch_size": Rule(int, low=1),
    "n_epochs": Rule(int, low=1),
    "buffer_size": Rule(int, low=1),
    "learning_starts": Rule(int, low=0),
    "target_update_interval": Rule(int, low=1),
    "max_episode_steps": Rule(int, low=1),
    "gamma": Rule(float, low=0.0, high=1.0, finite=True),
    "gae_lambda": Rule(float, low=0.0, high=1.0, finite=True),
    "ent_coef": Rule(float, low=0.0, finite=True),
    "vf_coef": Rule(float, low=0.0, finite=True),
    "max_grad_norm": Rule(float, low=0.0, low_open=True, finite=True),
    "exploration_fraction": Rule(float, low=0.0, high=1.0, finite=True),
    "exploration_final_eps": Rule(float, low=0.0, high=1.0, finite=True),
    "exploration_initial_eps": Rule(float, low=0.0, high=1.0, finite=True),
    "tau": Rule(float, low=0.0, high=1.0, finite=True),
    "target_kl": Rule(float, low=0.0, low_open=True, finite=True, nullable=True),
    "rms_prop_eps": Rule(float, low=0.0, low_open=True, finite=True),
    "param_noise_std": Rule(float, low=0.0, finite=True),
}
SCHEDULED = {"learning_rate", "clip_range", "clip_range_vf"}


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """Parse ``["key=value", ...]``; each value is read as YAML (``0.1``, ``true``, ``[64, 64]``)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"bad hyperparameter {pair!r}: expected key=value", "e.g. --hyperparams learning_rate=3e-4")
        try:
            out[key.strip()] = load_yaml(raw) if raw.strip() else None
        except yaml.YAMLError as err:
            raise UserError(f"bad value for {key!r}: {raw!r} is not valid YAML ({err.problem})") from err
    return out


def defaults_for(algo: str, env: str, preset: str = "gymsuite", given: Mapping[str, Any] | None = None
                 ) -> dict[str, Any]:
    """The shipped defaults for ``algo`` on ``env``: its own entry, else its group's, else ``default``.

    An entry may hold per-backbone defaults, ``backbones: {NAME: {key: value, ...}}``: a run whose backbone is NAME
    (``given["backbone"]``, the hyperparameters the user gives, else the entry's own ``backbone``) takes them over
    the entry's (a window backbone's context and the optimiser settings that suit it, say). The user's values stay
    on top, each key replaced whole (a ``backbone_kwargs`` the user gives replaces the entry's).

    Groups: every Atari id (``ALE/*``, ``*NoFrameskip-v4``) takes the ``atari`` entry (the zoo's). An id in the
    ``package:Env-id`` form takes the id's entries (``ale_py:ALE/Pong-v5`` those of ``ALE/Pong-v5``).
    ``preset`` (:data:`gymsuite.agents.run.runconfig.PRESETS`): ``zoo`` reads ``agents/hyperparams/<algo>.yml``
    (rl-baselines3-zoo's entries); ``gymsuite`` first the env's own entry of ``agents/hyperparams/gymsuite/<algo>.yml``
    (tuned for the wall time to the env's threshold; each entry is complete), else the zoo's.

    Raises:
        UserError: an unknown ``preset`` (the closest name).
    """
    entry = _entry(registry.get(algo).defaults_name, env, preset)
    per_backbone = entry.pop(BACKBONE_DEFAULTS, None) or {}
    backbone = (given or {}).get("backbone", entry.get("backbone"))
    return {**entry, **copy.deepcopy(per_backbone.get(backbone, {}))}


BACKBONE_DEFAULTS = "backbones"  # an entry's per-backbone defaults (defaults_for)
# An entry's reward shaping (the terms of a shaping file, inline): the run's ``reward_shaping`` when the user gives
# none, so ``config.yaml`` records the terms themselves; ``reward_shaping: none`` turns it off.
ENTRY_SHAPING = "reward_shaping"


def _entry(algo: str, env: str, preset: str) -> dict[str, Any]:
    """The shipped entry of ``algo`` on ``env`` in ``preset`` as written (a copy)."""
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}", closest_hint(preset, PRESETS, "presets"))
    target = classify_env(env)
    if preset == "gymsuite":
        tuned = HYPERPARAMS_DIR / "gymsuite" / f"{algo}.yml"
        entries = read_yaml(tuned) if tuned.is_file() else {}
        if (target.env_id or env) in entries:
            return copy.deepcopy(dict(entries[target.env_id or env]))
    file = HYPERPARAMS_DIR / f"{algo}.yml"
    table = read_yaml(file) if file.is_file() else {}
    for key in (target.env_id or env, "atari" if target.kind is EnvKind.ATARI else "", "default"):
        if key in table:
            return copy.deepcopy(dict(table[key]))
    return {}


def tuned_entries() -> list[tuple[str, str]]:
    """``(algo, env)`` of every entry of the ``gymsuite`` preset (``agents/hyperparams/gymsuite/<algo>.yml``)."""
    return [(file.stem, str(env)) for file in sorted((HYPERPARAMS_DIR / "gymsuite").glob("*.yml"))
            for env in read_yaml(file) or {}]


def build_config(cli: dict[str, Any], config_file: str | Path | None = None,
                 overrides: Sequence[str] | Mapping[str, Any] | None = None) -> RunConfig:
    """Merge defaults, the config file and CLI values into a validated :class:`RunConfig`.

    Args:
        cli: RunConfig fields given on the command line (``None`` values are ignored).
        config_file: optional YAML file of RunConfig fields.
        overrides: hyperparameters: ``key=value`` strings (values read as YAML), or a mapping (the Python API's).
    """
    if cli.get("hyperparams") is not None:  # it would be replaced by the merged table below, silently
        raise UserError("hyperparameters were given among the settings (a 'hyperparams' key), where they would be "
                        "ignored", "pass them as build_config's overrides (the Python API's hyperparams=, the "
                        "command's --hyperparams)")
    from_file = read_yaml(config_file) if config_file else {}
    check_keys(from_file, sorted(FIELDS), "key", f" in {config_file}")
    merged = {**from_file, **{k: v for k, v in cli.items() if v is not None}}
    for required in ("algo", "env"):
        if not merged.get(required):
            raise UserError(f"no {required} given", f"pass --{required} or set '{required}' in --config")
    spec = registry.get(str(merged["algo"]))
    merged["algo"] = spec.name
    if not isinstance(from_file.get("hyperparams", {}), dict):
        raise UserError(f"'hyperparams' in {config_file} must be a mapping")
    given = {**from_file.get("hyperparams", {}),
             **(copy.deepcopy(dict(overrides)) if isinstance(overrides, Mapping)
                else parse_assignments(list(overrides or [])))}
    defaults = defaults_for(spec.name, merged["env"], merged.get("preset", "gymsuite"), given)
    entry_shaping = defaults.pop(ENTRY_SHAPING, None)
    if merged.get("reward_shaping") is None and entry_shaping is not None:  # the entry's, recorded in config.yaml
        merged["reward_shaping"] = entry_shaping
    hyper = {**defaults, **given}
    validate_hyperparams(spec, hyper, merged["env"])
    if merged.get("target_return") is not None:  # "auto" or a number, checked against the env's maximum
        merged["target_return"] = target_return(merged["target_return"], merged["env"])
        if merged.get("eval_freq") == 0:
            raise UserError("--target-return needs periodic evaluations, which --eval-freq 0 turns off",
                            "leave --eval-freq out (10 evaluations a run) or give a number of env steps")
    merged = check(RunConfig, merged, "setting")
    resolve_device(merged.get("device", "auto"), uses_image_backbone(hyper))  # refuses cuda without a GPU, early
    # The run length and width live in fields; the hyperparameter table supplies their defaults.
    # None is "not given" (0 is refused above: it used to mean the default, silently).
    merged["timesteps"] = int(_given(merged.get("timesteps"), hyper.get("n_timesteps"), 100_000))
    merged["n_envs"] = int(_given(merged.get("n_envs"), hyper.get("n_envs"), 1))
    hyper["n_timesteps"], hyper["n_envs"] = merged["timesteps"], merged["n_envs"]
    merged["hyperparams"] = spec.decided(hyper)  # what the algorithm decides itself (mappo's multiagent.state)
    cfg = RunConfig(**merged)
    spec.check_run(cfg)  # the algorithm's own checks
    return cfg


def _given(*values: Any) -> Any:
    """The first value that is not None."""
    return next(v for v in values if v is not None)


def validate_hyperparams(spec: registry.AlgoSpec, hyper: dict[str, Any], env: Any = None) -> None:
    """Reject unknown keys (with suggestions) and out-of-range numbers, naming the key.

    Numbers are stored as their rule wants them: ``n_steps: 3e5`` (a float in YAML) reaches SB3 as an int.
    ``env`` (the run's env id, when known) is for the checks that depend on it (``mask_velocity``, a window
    backbone's context against the env's time limit); it is classified once here
    (:func:`~gymsuite.envs.target.classify_env`).
    """
    check_own_keys(spec, hyper)
    check_keys(hyper, sorted(spec.hyperparam_names()), "hyperparameter", f" for {spec.name}")
    target = classify_env(env) if env is not None else None
    check_turn_based(spec, target)
    for key, value in hyper.items():
        if key in _NUMERIC:
            hyper[key] = check_value(key, value, _NUMERIC[key], f"hyperparameter {key!r}")
        if key in SCHEDULED:
            schedule(key, value)  # raises on a bad schedule string
    if "normalize" in hyper:
        check_normalize(hyper["normalize"])
    if "policy_kwargs" in hyper and not isinstance(hyper["policy_kwargs"], dict | None):
        raise UserError("policy_kwargs must be a mapping, e.g. {net_arch: [64, 64]}")
    check_policy_kwargs(spec, hyper)  # keys the policy takes, finite numbers, net_arch's layers
    check_observation_options(hyper, env)  # atari, pixels, minigrid, history, mask_velocity
    check_backbone(hyper, spec)
    check_window_backbone(spec, target, hyper)
    check_options(spec.name, hyper)  # aux, aux_coef, aux_kwargs, backbone_init, freeze_backbone
    adversarial.check_options(spec.name, hyper)  # adversarial, smooth
    continual.check_options(spec.name, hyper)  # continual
    domain.check_options(spec.name, hyper)  # domain_adversarial
    check_multiagent(spec, hyper, target)


def check_own_keys(spec: registry.AlgoSpec, hyper: dict[str, Any]) -> None:
    """Refuse a hyperparameter that is another algorithm's own run key (``selfplay`` with ppo), naming its owner."""
    for key in hyper:
        owners = registry.owner_of_key(key)
        if owners and key not in spec.hyperparam_names():
            raise UserError(f"the {key} hyperparameter configures --algo {' or --algo '.join(owners)}, not {spec.name}",
                            f"drop {key}, or train with --algo {owners[0]}")


def check_multiagent(spec: registry.AlgoSpec, hyper: dict[str, Any], target: EnvTarget | None) -> None:
    """The algorithm fits the env's number of agents (:attr:`~gymsuite.agents.algorithms.spec.AlgoSpec.env_kinds`):
    a parallel multi-agent env trains with the algorithms that take one, without a memory backbone; one that
    trains only multi-agent envs refuses a single-agent env. Turn-based games are :func:`check_turn_based`'s."""
    env = None if target is None else target.name
    if target is None or not target.multiagent:
        if SINGLE not in spec.env_kinds and PARALLEL in spec.env_kinds:
            both = registry.names_for(SINGLE, PARALLEL)
            raise UserError(f"{spec.name} trains several agents, and {env} is a single-agent env",
                            (f"use --algo {' or --algo '.join(both)}, or " if both else "use ")
                            + "a PettingZoo env (e.g. --env mpe2.simple_spread_v3)")
        return
    if target.kind is EnvKind.TURN_BASED:
        return
    if PARALLEL not in spec.env_kinds:
        raise UserError(f"{spec.name} trains one agent, and {env} is a multi-agent env",
                        f"use --algo {' or --algo '.join(registry.names_for(PARALLEL))} (one policy shared by all "
                        "agents)")
    name = hyper.get("backbone")
    if name == recurrent.NAME or name in WINDOW_BACKBONES:
        raise UserError(f"backbone={name} cannot train on the multi-agent env {env}: its memory of past steps is not "
                        "kept per agent across done agents' placeholder steps",
                        "drop the backbone (or use an image backbone such as small_cnn)")


def check_turn_based(spec: registry.AlgoSpec, target: EnvTarget | None) -> None:
    """A turn-based game (:attr:`gymsuite.envs.target.EnvKind.TURN_BASED`) trains only with the algorithms
    that take one, and an algorithm that trains only turn-based games refuses any other env."""
    if target is None:
        return
    env, game = target.name, target.game
    if game is not None and TURN_BASED not in spec.env_kinds:
        raise UserError(f"{env} is a turn-based two-player game, which {spec.name} cannot train (one seat moves at a "
                        "time, with action masks)", f"use --algo {' or --algo '.join(registry.names_for(TURN_BASED))}")
    if game is None and spec.env_kinds == {TURN_BASED}:
        raise UserError(f"{spec.name} trains turn-based two-player games (PettingZoo AEC, e.g. "
                        f"pettingzoo.classic.tictactoe_v3), and {env} is not one",
                        f"use another --algo, e.g. {registry.names_for(SINGLE)[0]}")


def check_backbone(hyper: dict[str, Any], spec: registry.AlgoSpec | None = None) -> None:
    """``backbone`` names a backbone, ``backbone_kwargs`` holds only options it takes, and no extractor is named twice.

    What depends on the observation (an image for a CNN, its size) is checked by the backbone
    when the model is built, before the run directory exists. ``backbone=lstm`` (not a features
    extractor) is checked by :func:`check_lstm` against ``spec``, the run's algorithm.
    """
    name, kwargs = hyper.get("backbone"), hyper.get("backbone_kwargs")
    if name is None:
        if kwargs:
            raise UserError("backbone_kwargs is set but no backbone", "add backbone=NAME, e.g. backbone=small_cnn")
        return
    if not isinstance(name, str):
        raise UserError(f"bad value for 'backbone': {name!r}",
                        f"use one of {sorted([*backbones.BACKBONES, recurrent.NAME])}")
    if name == recurrent.NAME:
        check_lstm(hyper, spec)
    else:
        backbones.check_kwargs(name, kwargs)  # an unknown name raises here too, with the closest one
    if (hyper.get("policy_kwargs") or {}).get("features_extractor_class") is not None:
        raise UserError("both backbone and policy_kwargs.features_extractor_class name the features extractor",
                        "keep one of them (backbone=NAME backbone_kwargs={...} is the short form; "
                        "lstm takes its encoder as backbone_kwargs={encoder: NAME})")


def check_lstm(hyper: dict[str, Any], spec: registry.AlgoSpec | None) -> None:
    """``backbone=lstm``: an algorithm with a recurrent class (ppo: sb3-contrib's RecurrentPPO), valid
    ``backbone_kwargs`` (:class:`gymsuite.supervised.recurrent.LstmOptions`), and no auxiliary loss."""
    if spec is not None and spec.recurrent is None:
        raise UserError(f"backbone=lstm cannot train with {spec.name}: lstm carries a hidden state across steps, "
                        f"which only {', '.join(registry.recurrent_names())} trains here (sb3-contrib RecurrentPPO)",
                        f"use --algo {registry.recurrent_names()[0]}, or a window memory: framestack and transformer "
                        f"work with {', '.join(registry.window_names())}")
    recurrent.parse_options(hyper.get("backbone_kwargs"))
    if hyper.get("aux"):
        raise UserError("aux cannot be used with backbone=lstm: its loss trains the encoder on single observations "
                        "apart from the LSTM's sequences", "drop aux, or use backbone=framestack or transformer")


_CONTEXT = Rule(int, low=1)


def check_window_backbone(spec: registry.AlgoSpec, target: EnvTarget | None, hyper: dict[str, Any]) -> None:
    """A window backbone (``framestack``, ``transformer``) runs only with an algorithm whose policy reads a window of
    observations (:attr:`~gymsuite.agents.algorithms.spec.AlgoSpec.window`), with a ``context``
    of at least 1 and at most the episode limit (``max_episode_steps``, else ``env``'s registered time
    limit; none known: no check), and a ``history`` (if given) equal to its context."""
    name, kwargs = hyper.get("backbone"), hyper.get("backbone_kwargs")
    if name not in WINDOW_BACKBONES:
        return
    if not spec.window:
        fits = registry.window_names()
        raise UserError(f"{spec.name} cannot take the {name} backbone: window backbones work with "
                        f"{', '.join(fits)}", f"use one of them (--algo {fits[0]}) or another backbone")
    context = check_value("context", context_of(name, kwargs), _CONTEXT, f"the {name} backbone's context")
    if kwargs and "context" in kwargs:
        kwargs["context"] = context
    env = None if target is None else target.name
    limit = hyper.get("max_episode_steps") or (None if target is None else target.time_limit)
    if limit is not None and context > limit:
        raise UserError(f"the {name} backbone's context {context} is longer than an episode of {env} "
                        f"({limit} steps)", f"use context <= {limit}")
    env_options(hyper)  # a history that differs from the context


def resolve_device(choice: str, image: bool) -> str:
    """``cpu`` or ``cuda`` for ``--device choice``: ``auto`` is cuda only when torch sees a GPU and the policy
    has an image backbone (small MLPs run slower on a GPU than on the CPU); ``cuda`` without a GPU is refused."""
    has_gpu = torch.cuda.is_available()
    if choice == "cuda" and not has_gpu:
        raise UserError("--device cuda, but torch sees no GPU on this machine", "use --device cpu (or auto)")
    if choice == "auto":
        return "cuda" if has_gpu and image else "cpu"
    return choice


# VecNormalize's options a run may set (``normalize: {norm_reward: false}``); gamma comes from the run's.
NORMALIZE_OPTIONS = sorted(set(inspect.signature(VecNormalize.__init__).parameters) - {"self", "venv", "training"})


def check_normalize(value: Any) -> None:
    """``normalize`` is true, false, null or a mapping of VecNormalize options (a string like ``nope`` is refused)."""
    if value is None or isinstance(value, bool):
        return
    if not isinstance(value, dict):
        raise UserError(f"bad value for 'normalize': {value!r}",
                        "normalize must be true, false or a mapping of VecNormalize options, e.g. {norm_reward: false}")
    check_keys(value, NORMALIZE_OPTIONS, "VecNormalize option", " in normalize")


def schedule(key: str, value: Any) -> Any:
    """``"lin_X"`` -> SB3 ``LinearSchedule`` from X to 0; numbers pass through."""
    if isinstance(value, str):
        if value.startswith("lin_"):
            try:
                start = float(value[4:])
            except ValueError:
                start = -1.0
            if start > 0 and math.isfinite(start):
                return LinearSchedule(start, 0.0, 1.0)
        raise UserError(f"bad value for {key!r}: {value!r}",
                        f"use a finite positive number or 'lin_<start>', e.g. lin_{3e-4}")
    if not isinstance(value, int | float) or isinstance(value, bool) or not (0 < value < math.inf):
        raise UserError(f"bad value for {key!r}: {value!r}", f"{key} must be a finite positive number or 'lin_<start>'")
    return value


def to_dict(cfg: RunConfig) -> dict[str, Any]:
    """A plain, YAML-safe mapping of ``cfg``."""
    return dataclasses.asdict(cfg)
