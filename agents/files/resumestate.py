"""What a checkpoint needs besides the model zip for a resumed run to continue the same run.

A zip holds the weights, the optimiser and SB3's counters; a resumed run also needs the
randomness and the place in the envs' episodes. :func:`save_state` writes, pickle-free, into one
``.npz`` (arrays, plus one JSON string for the rest; read with ``allow_pickle=False``):

- the random generators: Python's ``random``, numpy's global one, torch's (and CUDA's), the
  model's action space and every env's ``np_random`` and action/observation space generators;
- the algorithm's counters and episode buffers: ``num_timesteps``, ``_n_updates``, ``_n_calls``,
  ``_episode_num``, ``exploration_rate``, the learning-rate schedule's position
  (``_current_progress_remaining``), ``ep_info_buffer``/``ep_success_buffer``;
- where the envs are: ``_last_obs``/``_last_episode_starts``/``_last_original_obs``, a recurrent
  model's LSTM states ``_last_lstm_states`` (``backbone=lstm``: actor's and critic's ``(h, c)``, each
  ``(layers, N, hidden)``; RecurrentPPO's zip leaves them out), the
  ``VecNormalize`` running returns, and each env's state: the unwrapped env's ``state`` array
  (classic control) or the attributes its class names in ``resume_fields`` (the T-maze's cue and place),
  ``TimeLimit``'s elapsed steps, ``Monitor``'s episode so far and the window of past observations
  (``history``, gymnasium's ``FrameStackObservation``);
- the state of wrappers that keep their own (a method ``get_resume_state() -> JSON`` and its
  ``set_resume_state``: domain randomisation's generator, draw and ADR ranges), kept even when the envs
  restart, so that ADR continues from its ranges.

Resume is exact (the same parameters as the run never stopped, at every later step) when the
checkpoint was taken at a rollout boundary (the periodic ones are) and the envs' state could be
captured: every env is in one process (``DummyVecEnv``), exposes its state (``env.unwrapped.state`` or
``resume_fields``) and sits only in the wrappers listed in ``_STATELESS``/``_RESTORED``/``_QUEUES``
(``MaskVelocity`` holds none). Otherwise (a checkpoint taken
on Ctrl-C/SIGTERM mid-rollout, Atari, MuJoCo, Box2D, subprocess envs, curiosity, reward wrappers
with memory) the envs are reset on resume: the generators and counters still continue, so the
resumed run is statistically, not bit-for-bit, the same run.
"""

from __future__ import annotations

import json
import random
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecEnvWrapper, VecNormalize

from gymsuite.common.datafiles import DamagedFileError, read_npz
from gymsuite.common.files import atomic_write

# Wrappers whose state is captured below, and those that hold none that changes what happens next.
_RESTORED = {"Monitor": ("rewards", "needs_reset", "total_steps"),  # not its per-episode history: it only grows
             "TimeLimit": ("_elapsed_steps",), "OrderEnforcing": ("_has_reset",),
             "PassiveEnvChecker": ("checked_reset", "checked_step", "checked_data_reuse")}
# Array-valued wrapper state: the window of the last K observations (``history``, the window backbones).
_QUEUES = {"FrameStackObservation": "obs_queue"}
_STATELESS = {"VecFiniteGuard", "VecNormalize", "ActiveVecNormalize", "VecTransposeImage",  # image runs: SB3 transposes
              "MaskVelocity"}
_ENV_ATTRS = ("state", "steps_beyond_terminated")  # the unwrapped env's (classic control)
WRAPPER_STATE = ("get_resume_state", "set_resume_state")
"""The methods of a wrapper that keeps state of its own (plain JSON), saved and restored through ``env_method``."""
RESUME_FIELDS = "resume_fields"
"""An env class's tuple of the attributes that hold its state (``TMazeEnv``: the cue and where the agent is),
for an env without classic control's ``state``; :func:`save_state` keeps them with its ``np_random``."""
_COUNTERS = ("num_timesteps", "_n_updates", "_n_calls", "_episode_num", "exploration_rate",
             "_current_progress_remaining")
_LAST = ("_last_obs", "_last_episode_starts", "_last_original_obs")


def _generator(rng: Any) -> Any:
    return rng.bit_generator.state if isinstance(rng, np.random.Generator) else None


def _set_generator(rng: Any, state: Any) -> None:
    if isinstance(rng, np.random.Generator) and state is not None:
        rng.bit_generator.state = state


def _spaces_state(obj: Any) -> dict[str, Any]:
    return {name: _generator(getattr(getattr(obj, name, None), "_np_random", None))
            for name in ("action_space", "observation_space")}


def _set_spaces_state(obj: Any, states: dict[str, Any]) -> None:
    for name, state in states.items():
        space = getattr(obj, name, None)
        if isinstance(space, gym.Space) and state is not None:
            _set_generator(space.np_random, state)


def _plain(value: Any) -> Any:
    """A JSON value for the scalars and lists kept in wrappers and episode buffers."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple, deque)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _base(venv: VecEnv) -> tuple[VecEnv, list[VecEnvWrapper]]:
    wrappers = []
    while isinstance(venv, VecEnvWrapper):
        wrappers.append(venv)
        venv = venv.venv
    return venv, wrappers


def _layers(env: gym.Env) -> list[Any]:
    layers = [env]
    while isinstance(layers[-1], gym.Wrapper):
        layers.append(layers[-1].env)
    return layers


def _fields(inner: Any) -> tuple[str, ...] | None:
    """The attributes that hold the unwrapped env ``inner``'s state, or None when it does not say."""
    declared = getattr(type(inner), RESUME_FIELDS, None)
    if declared is not None:
        return tuple(declared)
    return _ENV_ATTRS if hasattr(inner, "state") else None


def _queue_capturable(wrapper: Any) -> bool:
    """A window wrapper whose observations are arrays (a ``Dict`` observation's window is not kept)."""
    name = _QUEUES.get(type(wrapper).__name__)
    return name is None or all(isinstance(obs, np.ndarray) for obs in getattr(wrapper, name))


def env_state_capturable(venv: VecEnv, started: bool = True) -> bool:
    """Whether :func:`save_state` captures everything that decides the envs' next steps.

    ``started``: the envs have been reset (a freshly built env has no ``state`` yet).
    """
    base, wrappers = _base(venv)
    if not isinstance(base, DummyVecEnv) or any(type(w).__name__ not in _STATELESS for w in wrappers):
        return False
    known = _STATELESS | set(_RESTORED) | set(_QUEUES)
    for env in base.envs:
        *outer, inner = _layers(env)
        if any((type(w).__name__ not in known and not _keeps_state(w)) or not _queue_capturable(w) for w in outer):
            return False
        fields = _fields(inner)
        if fields is None or (started and "state" in fields and inner.state is None):
            return False
    return True


def _keeps_state(wrapper: Any) -> bool:
    return all(callable(getattr(type(wrapper), name, None)) for name in WRAPPER_STATE)


def _wrapper_states(venv: VecEnv) -> list[Any] | None:
    """Each env's wrapper state (:data:`WRAPPER_STATE`), or None when its envs keep none."""
    try:
        if not venv.has_attr(WRAPPER_STATE[0]):
            return None
        return _plain(venv.env_method(WRAPPER_STATE[0]))
    except (AttributeError, EOFError, BrokenPipeError):
        return None


def _capture_envs(venv: VecEnv, arrays: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    base, _ = _base(venv)
    envs = []
    for i, env in enumerate(base.envs):  # type: ignore[attr-defined]
        *outer, inner = _layers(env)
        wrappers = [{name: _plain(getattr(w, name)) for name in _RESTORED.get(type(w).__name__, ())} for w in outer]
        for j, wrapper in enumerate(outer):
            if type(wrapper).__name__ in _QUEUES:
                arrays[f"env{i}.wrapper{j}"] = np.stack(list(getattr(wrapper, _QUEUES[type(wrapper).__name__])))
        plain = {}
        for name in _fields(inner) or ():
            value = getattr(inner, name, None)
            if isinstance(value, (np.ndarray, tuple, list)):
                arrays[f"env{i}.{name}"] = np.asarray(value)
            else:
                plain[name] = _plain(value)
        envs.append({"wrappers": wrappers, "env": plain, "np_random": _generator(getattr(inner, "_np_random", None)),
                     "spaces": _spaces_state(inner)})
    return envs


def _restore_envs(venv: VecEnv, envs: list[dict[str, Any]], arrays: dict[str, np.ndarray]) -> None:
    base, _ = _base(venv)
    for i, (env, saved) in enumerate(zip(base.envs, envs, strict=True)):  # type: ignore[attr-defined]
        *outer, inner = _layers(env)
        for j, (wrapper, values) in enumerate(zip(outer, saved["wrappers"], strict=True)):
            for name, value in values.items():
                setattr(wrapper, name, value)
            if f"env{i}.wrapper{j}" in arrays:
                window = np.array(arrays[f"env{i}.wrapper{j}"])
                setattr(wrapper, _QUEUES[type(wrapper).__name__], deque(window, maxlen=len(window)))
        for name, value in saved["env"].items():
            setattr(inner, name, value)
        for name in _fields(inner) or ():
            if f"env{i}.{name}" in arrays:
                setattr(inner, name, np.array(arrays[f"env{i}.{name}"]))
        if saved["np_random"] is not None:
            _set_generator(inner.np_random, saved["np_random"])
        _set_spaces_state(inner, saved["spaces"])


def _put(arrays: dict[str, np.ndarray], key: str, value: Any) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            arrays[f"{key}/{k}"] = np.asarray(v)
    elif value is not None:
        arrays[key] = np.asarray(value)


def _get(arrays: dict[str, np.ndarray], key: str) -> Any:
    if key in arrays:
        return np.array(arrays[key])
    prefix = f"{key}/"
    found = {name[len(prefix):]: np.array(value) for name, value in arrays.items() if name.startswith(prefix)}
    return found or None


_LSTM = ("pi.h", "pi.c", "vf.h", "vf.c")  # RNNStates(pi=(h, c), vf=(h, c))


def _put_lstm(arrays: dict[str, np.ndarray], states: RNNStates | None) -> None:
    if states is None:
        return
    for key, tensor in zip(_LSTM, (*states.pi, *states.vf), strict=True):
        arrays[f"lstm.{key}"] = tensor.detach().cpu().numpy()


def _get_lstm(model: BaseAlgorithm, arrays: dict[str, np.ndarray]) -> None:
    """Restore ``_last_lstm_states`` where :func:`_put_lstm` saved them (a recurrent model)."""
    if "lstm.pi.h" not in arrays or getattr(model, "_last_lstm_states", None) is None:
        return
    h_pi, c_pi, h_vf, c_vf = (torch.as_tensor(np.array(arrays[f"lstm.{key}"]), device=model.device) for key in _LSTM)
    model._last_lstm_states = RNNStates((h_pi, c_pi), (h_vf, c_vf))  # type: ignore[attr-defined]


def save_state(model: BaseAlgorithm, path: Path, at_boundary: bool) -> None:
    """Write the resume state of ``model`` and its env to ``path`` (``.npz``), atomically.

    Args:
        at_boundary: the algorithm is between two rollouts (the next step starts a rollout);
            only then are the envs' state and ``_last_obs`` consistent enough to continue from.
    """
    arrays: dict[str, np.ndarray] = {}
    numpy_state = np.random.get_state(legacy=False)
    arrays["numpy.key"] = numpy_state["state"]["key"]
    arrays["torch"] = torch.get_rng_state().numpy()
    if torch.cuda.is_available():
        arrays["cuda"] = torch.stack(torch.cuda.get_rng_state_all()).numpy()
    version, mt, gauss = random.getstate()
    meta: dict[str, Any] = {
        "python_random": [version, list(mt), gauss],
        "numpy": {k: v for k, v in numpy_state.items() if k != "state"} | {"pos": numpy_state["state"]["pos"]},
        "model_spaces": _spaces_state(model),
        "counters": {name: _plain(getattr(model, name)) for name in _COUNTERS if hasattr(model, name)},
        "ep_info_buffer": _plain(model.ep_info_buffer or []),
        "ep_success_buffer": _plain(model.ep_success_buffer or []),
        "envs": None,
    }
    venv = model.get_env()
    meta["wrapper_states"] = None if venv is None else _wrapper_states(venv)
    if at_boundary and venv is not None and env_state_capturable(venv):
        meta["envs"] = _capture_envs(venv, arrays)
        for name in _LAST:
            _put(arrays, name, getattr(model, name, None))
        _put_lstm(arrays, getattr(model, "_last_lstm_states", None))
        vecnorm = model.get_vec_normalize_env()
        if vecnorm is not None:
            arrays["vecnormalize.returns"] = vecnorm.returns
    arrays["meta"] = np.array(json.dumps(meta))
    atomic_write(path, lambda p: np.savez(p, **arrays))  # type: ignore[arg-type]


_WHAT = "a resume state gymsuite wrote"
_FIX = "delete it to resume without it (the envs restart: the same run statistically, not bit for bit)"
_META = ("python_random", "numpy", "model_spaces", "counters", "ep_info_buffer", "ep_success_buffer", "envs")


@dataclass(frozen=True)
class SavedState:
    """A resume state read by :func:`read_state`: the file's arrays and its JSON ``meta``."""

    path: Path
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]


def read_state(path: Path) -> SavedState:
    """Read and check what :func:`save_state` wrote to ``path``, without restoring anything yet.

    Raises:
        DamagedFileError: truncated, garbage, an object array, or not a resume state (the file and the problem named).
    """
    arrays = read_npz(path, _WHAT, _FIX)
    try:
        meta = json.loads(str(arrays["meta"]))
    except KeyError as err:
        raise DamagedFileError(path, _WHAT, "it has no array 'meta'", _FIX) from err
    except ValueError as err:
        raise DamagedFileError(path, _WHAT, f"its 'meta' is not JSON ({err})", _FIX) from err
    missing = [key for key in _META if not isinstance(meta, dict) or key not in meta]
    missing += [name for name in ("numpy.key", "torch") if name not in arrays]
    if missing:
        raise DamagedFileError(path, _WHAT, f"it lacks {', '.join(missing)}", _FIX)
    return SavedState(path, arrays, meta)


def load_state(model: BaseAlgorithm, saved: SavedState | Path) -> bool:
    """Restore what :func:`save_state` wrote (or :func:`read_state` read) into ``model`` (whose env is already set).

    Call it last before training continues: it sets the global random generators.
    Returns whether the envs continue where they were (else the next ``learn`` resets them).

    Raises:
        DamagedFileError: the file's values do not fit (a state of another run, or edited by hand).
    """
    saved = saved if isinstance(saved, SavedState) else read_state(saved)
    try:
        return _restore(model, saved.meta, saved.arrays)
    except (KeyError, ValueError, TypeError, IndexError, AttributeError, RuntimeError) as err:
        raise DamagedFileError(saved.path, f"{_WHAT} for this run", f"{type(err).__name__}: {err}", _FIX) from err


def _restore(model: BaseAlgorithm, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> bool:
    version, mt, gauss = meta["python_random"]
    random.setstate((version, tuple(mt), gauss))
    numpy_meta = dict(meta["numpy"])
    pos = numpy_meta.pop("pos")
    np.random.set_state({**numpy_meta, "state": {"key": np.array(arrays["numpy.key"]), "pos": pos}})
    torch.set_rng_state(torch.from_numpy(np.array(arrays["torch"])))
    if "cuda" in arrays and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(torch.from_numpy(np.array(arrays["cuda"]))))
    _set_spaces_state(model, meta["model_spaces"])
    for name, value in meta["counters"].items():
        setattr(model, name, value)
    model.ep_info_buffer = deque(meta["ep_info_buffer"], maxlen=model._stats_window_size)
    model.ep_success_buffer = deque(meta["ep_success_buffer"], maxlen=model._stats_window_size)
    venv = model.get_env()
    if meta.get("wrapper_states") is not None and venv is not None:  # before the envs: not in older files
        for i, state in enumerate(meta["wrapper_states"]):
            venv.env_method(WRAPPER_STATE[1], state, indices=i)
    if meta["envs"] is None or venv is None or not env_state_capturable(venv, started=False):
        model._last_obs = None  # learn() resets the envs
        return False
    _restore_envs(venv, meta["envs"], arrays)
    for name in _LAST:
        setattr(model, name, _get(arrays, name))
    _get_lstm(model, arrays)
    vecnorm = model.get_vec_normalize_env()
    if isinstance(vecnorm, VecNormalize) and "vecnormalize.returns" in arrays:
        vecnorm.returns = np.array(arrays["vecnormalize.returns"])
    return True
