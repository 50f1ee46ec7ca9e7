"""The config loader: one place that turns defaults, a config file and CLI flags into a run's config.

Precedence, lowest first:
  1. ``agents/hyperparams/<algo>.yml``: the entry for the env id, else ``default``;
  2. ``--config FILE.yaml`` (a mapping of :class:`RunConfig` fields; a run's own
     ``config.yaml`` is such a file, so ``--config runs/x/config.yaml`` reruns it);
  3. command-line flags and ``--hyperparams key=value``.

Unknown keys and bad values are rejected here, before anything touches the disk.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from stable_baselines3.common.utils import LinearSchedule

from agents.algorithms import registry
from common.errors import UserError, closest_hint
from common.files import load_yaml, read_yaml
from common.validation import check_number

HYPERPARAMS_DIR = Path(__file__).resolve().parent.parent / "hyperparams"

# Hyperparameters whose value must be a number above a bound: (kind, lower bound, inclusive).
_NUMERIC: dict[str, tuple[type, float, bool]] = {
    "n_envs": (int, 1, True),
    "n_timesteps": (int, 1, True),
    "n_steps": (int, 1, True),
    "batch_size": (int, 1, True),
    "n_epochs": (int, 1, True),
    "buffer_size": (int, 1, True),
    "learning_starts": (int, 0, True),
    "target_update_interval": (int, 1, True),
    "max_episode_steps": (int, 1, True),
    "gamma": (float, 0.0, True),
    "gae_lambda": (float, 0.0, True),
    "ent_coef": (float, 0.0, True),
    "vf_coef": (float, 0.0, True),
    "max_grad_norm": (float, 0.0, False),
    "exploration_fraction": (float, 0.0, True),
    "exploration_final_eps": (float, 0.0, True),
    "exploration_initial_eps": (float, 0.0, True),
}
_AT_MOST_ONE = {"gamma", "gae_lambda", "exploration_fraction", "exploration_final_eps", "exploration_initial_eps"}
_SCHEDULED = {"learning_rate", "clip_range", "clip_range_vf"}
_ACTIVATIONS = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "elu": torch.nn.ELU, "leaky_relu": torch.nn.LeakyReLU,
                "gelu": torch.nn.GELU, "silu": torch.nn.SiLU}


@dataclass
class RunConfig:
    """Everything needed to (re)run one training job; saved as the run's ``config.yaml``."""

    algo: str = field(metadata={"help": "algorithm name (see --list-algos)"})
    env: str = field(metadata={"help": "env id, package.module:Class or path/to/file.py:Class"})
    timesteps: int = field(default=0, metadata={"help": "environment steps to train (0: the algorithm's default)"})
    seed: int = field(default=0, metadata={"help": "random seed for envs, networks and exploration"})
    n_envs: int = field(default=0, metadata={"help": "parallel environments (0: the algorithm's default)"})
    hyperparams: dict[str, Any] = field(default_factory=dict, metadata={"help": "algorithm hyperparameters"})
    eval_episodes: int = field(default=10, metadata={"help": "episodes of the final evaluation"})
    eval_freq: int = field(default=-1, metadata={"help": "env steps between evaluations (-1: 10 per run, 0: off)"})
    checkpoint_freq: int = field(default=-1, metadata={"help": "env steps between checkpoints (-1: 10 per run)"})
    reward_shaping: str | None = field(default=None, metadata={"help": "YAML file of shaping terms"})
    curiosity: str | None = field(default=None, metadata={"help": "intrinsic reward method (icm, rnd)"})
    curiosity_kwargs: dict[str, Any] = field(default_factory=dict, metadata={"help": "curiosity options"})
    learned_reward: str | None = field(default=None, metadata={"help": "gail/airl run dir whose reward to learn from"})
    learned_reward_kwargs: dict[str, Any] = field(default_factory=dict,
                                                  metadata={"help": "learned-reward options (mode, scale, absorbing)"})
    demos: str | None = field(default=None, metadata={"help": "demonstrations file (imitation algorithms)"})
    expert: str | None = field(default=None, metadata={"help": "expert run dir or model (DAgger)"})
    check_env: bool = field(default=True, metadata={"help": "check custom envs before training"})
    threads: int = field(default=1, metadata={"help": "torch CPU threads (1 is fastest for small MLPs)"})

    @property
    def n_timesteps(self) -> int:
        return int(self.timesteps)


FIELDS = {f.name for f in dataclasses.fields(RunConfig)}


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


def defaults_for(algo: str, env: str) -> dict[str, Any]:
    """The shipped defaults for ``algo`` on ``env`` (the ``default`` entry for unlisted envs)."""
    file = HYPERPARAMS_DIR / f"{algo}.yml"
    table = read_yaml(file) if file.is_file() else {}
    return dict(table.get(env, table.get("default", {})))


def build_config(cli: dict[str, Any], config_file: str | None = None, overrides: list[str] | None = None) -> RunConfig:
    """Merge defaults, the config file and CLI values into a validated :class:`RunConfig`.

    Args:
        cli: RunConfig fields given on the command line (``None`` values are ignored).
        config_file: optional YAML file of RunConfig fields.
        overrides: ``key=value`` hyperparameter strings.
    """
    from_file = read_yaml(config_file) if config_file else {}
    unknown = set(from_file) - FIELDS
    if unknown:
        raise UserError(f"unknown key(s) in {config_file}: {', '.join(sorted(unknown))}",
                        f"valid keys: {', '.join(sorted(FIELDS))}")
    merged = {**from_file, **{k: v for k, v in cli.items() if v is not None}}
    for required in ("algo", "env"):
        if not merged.get(required):
            raise UserError(f"no {required} given", f"pass --{required} or set '{required}' in --config")
    spec = registry.get(str(merged["algo"]))
    merged["algo"] = spec.name
    if not isinstance(from_file.get("hyperparams", {}), dict):
        raise UserError(f"'hyperparams' in {config_file} must be a mapping")
    hyper = {**defaults_for(spec.name, merged["env"]), **from_file.get("hyperparams", {})}
    hyper.update(parse_assignments(overrides or []))
    validate_hyperparams(spec, hyper)
    for key, (kind, _, _) in _NUMERIC.items():  # "3e5" reads as a float; n_steps & co. must reach SB3 as ints
        if kind is int and isinstance(hyper.get(key), float):
            hyper[key] = int(hyper[key])
    # The run length and width live in fields; the hyperparameter table supplies their defaults.
    merged["timesteps"] = int(merged.get("timesteps") or hyper.get("n_timesteps") or 100_000)
    merged["n_envs"] = int(merged.get("n_envs") or hyper.get("n_envs") or 1)
    hyper["n_timesteps"], hyper["n_envs"] = merged["timesteps"], merged["n_envs"]
    merged["hyperparams"] = hyper
    cfg = RunConfig(**merged)
    _validate_fields(cfg)
    return cfg


def validate_hyperparams(spec: registry.AlgoSpec, hyper: dict[str, Any]) -> None:
    """Reject unknown keys (with suggestions) and out-of-range numbers, naming the key."""
    names = spec.hyperparam_names()
    for key, value in hyper.items():
        if key not in names:
            raise UserError(f"unknown hyperparameter {key!r} for {spec.name}",
                            closest_hint(key, sorted(names), "valid keys"))
        if key in _NUMERIC:
            _check_number(key, value)
        if key in _SCHEDULED:
            schedule(key, value)  # raises on a bad schedule string
    if "policy_kwargs" in hyper and not isinstance(hyper["policy_kwargs"], dict | None):
        raise UserError("policy_kwargs must be a mapping, e.g. {net_arch: [64, 64]}")


def _check_number(key: str, value: Any) -> None:
    kind, low, inclusive = _NUMERIC[key]
    check_number(key, value, kind, low, inclusive, at_most_one=key in _AT_MOST_ONE)


def _validate_fields(cfg: RunConfig) -> None:
    if cfg.timesteps <= 0:
        raise UserError(f"timesteps must be positive, got {cfg.timesteps}", "e.g. --timesteps 100000")
    if cfg.n_envs <= 0:
        raise UserError(f"n_envs must be positive, got {cfg.n_envs}")
    if cfg.eval_episodes < 1:
        raise UserError(f"eval_episodes must be at least 1, got {cfg.eval_episodes}")
    if cfg.threads < 1:
        raise UserError(f"threads must be at least 1, got {cfg.threads}")


def schedule(key: str, value: Any) -> Any:
    """``"lin_X"`` -> SB3 ``LinearSchedule`` from X to 0; numbers pass through."""
    if isinstance(value, str):
        if value.startswith("lin_"):
            try:
                start = float(value[4:])
            except ValueError:
                start = -1.0
            if start > 0:
                return LinearSchedule(start, 0.0, 1.0)
        raise UserError(f"bad value for {key!r}: {value!r}", f"use a positive number or 'lin_<start>', e.g. lin_{3e-4}")
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise UserError(f"bad value for {key!r}: {value!r}", f"{key} must be a positive number or 'lin_<start>'")
    return value


def model_kwargs(spec: registry.AlgoSpec, cfg: RunConfig) -> tuple[str, dict[str, Any]]:
    """The policy name and constructor kwargs for ``spec`` from ``cfg.hyperparams``."""
    kwargs = {k: v for k, v in cfg.hyperparams.items() if k not in registry.RUN_KEYS}
    for key in _SCHEDULED & kwargs.keys():
        kwargs[key] = schedule(key, kwargs[key])
    if kwargs.get("policy_kwargs"):
        pk = dict(kwargs["policy_kwargs"])
        if isinstance(pk.get("activation_fn"), str):
            name = pk["activation_fn"].lower().removeprefix("nn.")
            if name not in _ACTIVATIONS:
                raise UserError(f"unknown activation_fn {pk['activation_fn']!r}", f"use one of {sorted(_ACTIVATIONS)}")
            pk["activation_fn"] = _ACTIVATIONS[name]
        kwargs["policy_kwargs"] = pk
    kwargs.setdefault("device", "cpu")
    return str(cfg.hyperparams.get("policy", "MlpPolicy")), kwargs


def to_dict(cfg: RunConfig) -> dict[str, Any]:
    """A plain, YAML-safe mapping of ``cfg``."""
    return dataclasses.asdict(cfg)
