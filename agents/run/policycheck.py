"""``policy_kwargs`` and the rollout buffer, checked before anything is built or written.

SB3 takes ``policy_kwargs`` as they come: ``log_std_init: .inf`` crashes the first update, ``.nan`` ends in a page of
tensor values, ``net_arch: [0]`` builds a network with an empty layer, a misspelt key is a ``TypeError`` deep inside
the policy's constructor. :func:`check_policy_kwargs` checks them with the config, against the constructor of the
policy class the run will build (the keys it takes) and the rules below (the values).

An on-policy algorithm allocates its rollout buffer of ``n_steps x n_envs`` observations when the model is built
(``n_steps=1e11``: a ``MemoryError``, or swapping): :func:`check_rollout_fits` estimates it once the env's spaces are
known, before the model exists. The replay buffer of an off-policy algorithm has its own check
(:func:`gymsuite.agents.files.replaymemory.check_replay_fits`).

Shapes: T rollout steps (``n_steps``), N envs, O observation, A action.
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.common.preprocessing import get_action_dim, get_obs_shape

from gymsuite.agents.algorithms.spec import AlgoSpec
from gymsuite.agents.files import replaymemory
from gymsuite.common.errors import UserError
from gymsuite.common.options import Rule, check_value
from gymsuite.supervised import recurrent

# Arguments of every SB3 policy constructor that the algorithm passes itself.
_GIVEN = {"self", "observation_space", "action_space", "lr_schedule"}
_FLAGS = ("ortho_init", "use_sde", "full_std", "use_expln", "squash_output", "share_features_extractor",
          "normalize_images", "shared_lstm", "enable_critic_lstm")
_RULES = {"log_std_init": Rule(float, finite=True), "lstm_hidden_size": Rule(int, low=1),
          "n_lstm_layers": Rule(int, low=1), **{flag: Rule(bool) for flag in _FLAGS}}
_MAPPINGS = ("features_extractor_kwargs", "optimizer_kwargs", "lstm_kwargs")
_LAYER = Rule(int, low=1)


def policy_class(spec: AlgoSpec, hyper: Mapping[str, Any]) -> type[BasePolicy] | None:
    """The policy class a run of ``spec`` with ``hyper`` builds (``policy``, ``backbone=lstm``), or None when its
    ``policy`` is no alias of the algorithm's (mappo builds its own; SB3 names an unknown one)."""
    name = str(hyper.get("policy", "MlpPolicy"))
    if recurrent.is_lstm(hyper):
        name = recurrent.lstm_policy(name)
    found = spec.model_class(dict(hyper)).policy_aliases.get(name)
    return found if isinstance(found, type) else None


def policy_keys(cls: type[BasePolicy]) -> list[str] | None:
    """The ``policy_kwargs`` keys ``cls`` takes (its constructor's arguments), or None when it takes any."""
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return None
    return [name for name in params if name not in _GIVEN]


def check_policy_kwargs(spec: AlgoSpec, hyper: Mapping[str, Any]) -> None:
    """Refuse ``policy_kwargs`` the run's policy cannot take, naming the key: an unknown key (with the valid ones),
    a non-finite number anywhere in it, ``net_arch`` layers that are not positive integers, a flag that is not a
    bool, a bad ``log_std_init`` or LSTM size.

    Raises:
        UserError: the first bad key, its value and what it must be.
    """
    kwargs = hyper.get("policy_kwargs")
    if kwargs is None:
        return
    if not isinstance(kwargs, dict):
        raise UserError(f"bad value for 'policy_kwargs': {kwargs!r}", "policy_kwargs must be a mapping, e.g. "
                        "{net_arch: [64, 64]}")
    cls = policy_class(spec, hyper)
    valid = policy_keys(cls) if cls is not None else None
    for key, value in kwargs.items():
        if valid is not None and key not in valid:
            assert cls is not None
            close = difflib.get_close_matches(str(key), valid, n=1)
            raise UserError(f"unknown policy_kwargs key {key!r} for {spec.name} ({cls.__name__})",
                            (f"did you mean {close[0]!r}? " if close else "") + f"{cls.__name__} takes "
                            f"{', '.join(valid)}")
        _check_finite(f"policy_kwargs.{key}", value)
        if key == "net_arch":
            check_net_arch(value, cls)
        elif key in _RULES:
            kwargs[key] = check_value(key, value, _RULES[key], f"policy_kwargs.{key}")
        elif key in _MAPPINGS and not isinstance(value, dict | None):
            raise UserError(f"bad value for policy_kwargs.{key}: {value!r}", f"{key} must be a mapping")


def check_net_arch(value: Any, cls: type[BasePolicy] | None) -> None:
    """``net_arch`` is a list of positive layer sizes, or (an actor-critic policy) ``{pi: [...], vf: [...]}``.

    SB3 1.x's ``[64, {pi: [...], vf: [...]}]`` (shared layers) is gone in SB3 2.x, which keeps only the dict.
    """
    if value is None:  # the policy's default
        return
    actor_critic = cls is None or issubclass(cls, ActorCriticPolicy)
    forms = "a list of layer sizes, e.g. [64, 64]" + (", or {pi: [64], vf: [64]}" if actor_critic else "")
    if isinstance(value, dict):
        if not actor_critic:
            raise UserError(f"bad value for policy_kwargs.net_arch: {value!r}",
                            f"{cls.__name__ if cls else 'this policy'} takes net_arch as {forms}")
        if set(value) - {"pi", "vf"} or not value:
            raise UserError(f"bad value for policy_kwargs.net_arch: {value!r}", f"net_arch must be {forms}")
        for branch, sizes in value.items():
            _check_layers(f"net_arch.{branch}", sizes, forms)
        return
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        raise UserError(f"bad value for policy_kwargs.net_arch: {value!r} (SB3 1.x's shared layers)",
                        f"SB3 2.x takes net_arch as {forms}")
    _check_layers("net_arch", value, forms)


def _check_layers(key: str, sizes: Any, forms: str) -> None:
    if not isinstance(sizes, list):
        raise UserError(f"bad value for policy_kwargs.{key}: {sizes!r}", f"net_arch must be {forms}")
    for size in sizes:
        if isinstance(size, float) or not _LAYER.accepts(size):  # 64.0 too: a layer size is written as an integer
            raise UserError(f"bad value for policy_kwargs.{key}: {sizes!r}",
                            f"each layer size must be an integer >= 1 ({size!r} is not); net_arch must be {forms}")


def _check_finite(key: str, value: Any) -> None:
    """Every number inside ``value`` (mappings and lists included) is finite."""
    if isinstance(value, float) and not math.isfinite(value):
        raise UserError(f"bad value for {key}: {value!r}", f"{key.rpartition('.')[2]} must be a finite number")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(f"{key}.{k}", v)
    elif isinstance(value, list | tuple):
        for v in value:
            _check_finite(key, v)


def rollout_bytes(n_steps: int, n_envs: int, observation_space: spaces.Space, action_space: spaces.Space) -> int:
    """Bytes of SB3's ``RolloutBuffer`` (or ``DictRolloutBuffer``) of ``n_steps x n_envs`` steps.

    Per step: the observation (each key of a Dict) and the action in their spaces' dtypes, and six float32 (reward,
    return, episode start, value, log-probability, advantage).
    """
    shapes = get_obs_shape(observation_space)
    if isinstance(observation_space, spaces.Dict):
        assert isinstance(shapes, dict)
        obs = sum(int(np.prod(shapes[k])) * np.dtype(sub.dtype or np.float32).itemsize
                  for k, sub in observation_space.spaces.items())
    else:
        assert isinstance(shapes, tuple)
        obs = int(np.prod(shapes)) * np.dtype(observation_space.dtype or np.float32).itemsize
    act = get_action_dim(action_space) * np.dtype(action_space.dtype or np.float32).itemsize
    return n_steps * n_envs * (obs + act + 6 * 4)


def check_rollout_fits(spec: AlgoSpec, hyper: Mapping[str, Any], observation_space: spaces.Space,
                       action_space: spaces.Space, n_envs: int) -> None:
    """Refuse an on-policy run whose rollout buffer would not fit in the RAM available now, with the estimate and
    the ``n_steps`` that fits (an off-policy run: nothing here).

    Args:
        spec, hyper: the run's algorithm and hyperparameters (``n_steps``, else the algorithm's default).
        observation_space, action_space: the spaces the buffer stores (as the model sees them).
        n_envs: the envs stepped side by side (N; a multi-agent env's slots).
    """
    cls = spec.model_class(dict(hyper))
    if not issubclass(cls, OnPolicyAlgorithm):
        return
    default = inspect.signature(cls.__init__).parameters.get("n_steps")
    n_steps = int(hyper.get("n_steps") or (default.default if default is not None else 2048))
    need, free = rollout_bytes(n_steps, n_envs, observation_space, action_space), replaymemory.available_bytes()
    if free is None or need <= free:
        return
    fits = max(int(n_steps * free / need * 0.8), 1)
    raise UserError(f"the rollout buffer of n_steps={n_steps:,} x {n_envs} envs needs about {need / 2**30:,.1f} GiB, "
                    f"and only {free / 2**30:.1f} GiB of RAM is available",
                    f"pass --hyperparams n_steps={fits} or fewer (or fewer --n-envs)")
