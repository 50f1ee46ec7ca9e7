"""``VecNormalize`` statistics as a pickle-free ``.npz``: written atomically, read with ``allow_pickle=False``.

SB3's ``VecNormalize.save`` pickles the whole wrapper, so loading a ``vecnormalize.pkl`` runs any
code the file carries. This file holds only what the wrapper needs (plain arrays)::

    obs_rms.mean, obs_rms.var, obs_rms.count      (O,), (O,), ()  float64; per key
                                                  "obs_rms/<key>.mean"... for Dict observations
    ret_rms.mean, ret_rms.var, ret_rms.count      (), (), ()      float64
    clip_obs, clip_reward, gamma, epsilon         ()              float64
    norm_obs, norm_reward, training               ()              bool
    norm_obs_keys                                 (K,)            str (Dict observations only)

Files of older gymsuite versions (``vecnormalize.pkl``) load only when the caller trusts pickles. A damaged file
is a :class:`~gymsuite.common.datafiles.DamagedFileError` naming it.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from gymsuite.common.datafiles import DamagedFileError, read_npz
from gymsuite.common.errors import UserError
from gymsuite.common.files import atomic_write

_FLOATS = ("clip_obs", "clip_reward", "gamma", "epsilon")
_FLAGS = ("norm_obs", "norm_reward", "training")
_FIX = "retrain, or use a checkpoint from the run's checkpoints/ folder"


def save_stats(vecnorm: VecNormalize, path: Path) -> None:
    """Write ``vecnorm``'s statistics and settings to ``path`` (``.npz``), atomically."""
    arrays: dict[str, np.ndarray] = {name: np.asarray(getattr(vecnorm, name)) for name in (*_FLOATS, *_FLAGS)}
    arrays.update(_rms("ret_rms", vecnorm.ret_rms))
    if isinstance(vecnorm.obs_rms, dict):
        arrays["norm_obs_keys"] = np.asarray(vecnorm.norm_obs_keys or sorted(vecnorm.obs_rms), dtype=str)
        for key, rms in vecnorm.obs_rms.items():
            arrays.update(_rms(f"obs_rms/{key}", rms))
    else:
        arrays.update(_rms("obs_rms", vecnorm.obs_rms))

    def write(tmp: Path) -> None:
        with tmp.open("wb") as f:  # a file object: np.savez would add ".npz" to the temporary's name
            np.savez(f, allow_pickle=False, **arrays)

    atomic_write(path, write)


def load_stats(path: Path, venv: VecEnv, legacy: Path | None = None, trust_pickle: bool = False,
               cls: type[VecNormalize] = VecNormalize) -> VecNormalize:
    """``venv`` inside a ``VecNormalize`` with the statistics of ``path``.

    Args:
        path: the ``.npz`` written by :func:`save_stats`.
        venv: the env to wrap.
        legacy: the pickled file an older gymsuite wrote instead, loaded when ``path`` is absent
            and ``trust_pickle``.
        trust_pickle: allow ``legacy`` (``--trust-pickle``).
        cls: the wrapper to build (training's :class:`gymsuite.envs.wrappers.ActiveVecNormalize`).

    Raises:
        UserError: only a pickled file exists and pickles are not trusted, or the file is damaged.
    """
    if not path.is_file() and legacy is not None and legacy.is_file():
        if not trust_pickle:
            raise UserError(f"{legacy} holds pickled normalisation statistics (an older gymsuite's format), which "
                            "gymsuite does not load: unpickling runs whatever code the file carries",
                            "if you trust the file, pass --trust-pickle")
        return load_pickled_stats(legacy, venv)
    what = "a normalisation-statistics file gymsuite wrote"
    arrays = read_npz(path, what, _FIX)
    try:
        keys = [str(k) for k in arrays["norm_obs_keys"]] if "norm_obs_keys" in arrays else None
        norm = cls(venv, training=bool(arrays["training"]), norm_obs=bool(arrays["norm_obs"]),
                            norm_reward=bool(arrays["norm_reward"]), clip_obs=float(arrays["clip_obs"]),
                            clip_reward=float(arrays["clip_reward"]), gamma=float(arrays["gamma"]),
                            epsilon=float(arrays["epsilon"]), norm_obs_keys=keys)
        if keys is not None:
            norm.obs_rms = {key: _read_rms(arrays, f"obs_rms/{key}") for key in keys}
        else:
            norm.obs_rms = _read_rms(arrays, "obs_rms")  # type: ignore[assignment]  # SB3 types it as the Dict case
        norm.ret_rms = _read_rms(arrays, "ret_rms")
    except KeyError as err:
        raise DamagedFileError(path, what, f"it has no array {err}", _FIX) from err
    except (ValueError, TypeError) as err:  # an array of another shape or type than the statistics'
        raise DamagedFileError(path, what, str(err), _FIX) from err
    return norm


def load_pickled_stats(path: Path, venv: VecEnv) -> VecNormalize:
    """``VecNormalize.load``: unpickles ``path``, which runs any code it carries; only for a trusted file.

    Raises:
        DamagedFileError: the pickle is cut short or garbage.
    """
    try:
        return VecNormalize.load(str(path), venv)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError) as err:
        raise DamagedFileError(path, "a readable pickle of normalisation statistics", f"corrupt or truncated ({err})",
                               _FIX) from err


# Where other tools keep a model's pickled statistics: rl-baselines3-zoo beside the zip in <env>/vecnormalize.pkl,
# Hugging Face's sb3 model repositories beside the zip as vec_normalize.pkl.
_PICKLED_NAMES = ("vecnormalize.pkl", "vec_normalize.pkl")


def pickled_stats_beside(model_zip: Path) -> Path | None:
    """The pickled ``VecNormalize`` that another tool (rl-baselines3-zoo, the Hugging Face hub) keeps with
    ``model_zip``, or None: ``vecnormalize.pkl`` or ``vec_normalize.pkl`` beside it, or the zoo's
    ``<zip name>/vecnormalize.pkl``."""
    folders = (model_zip.parent, model_zip.with_suffix(""))
    return next((folder / name for folder in folders for name in _PICKLED_NAMES if (folder / name).is_file()), None)


def _rms(prefix: str, rms: RunningMeanStd) -> dict[str, np.ndarray]:
    return {f"{prefix}.mean": np.asarray(rms.mean), f"{prefix}.var": np.asarray(rms.var),
            f"{prefix}.count": np.asarray(rms.count)}


def _read_rms(arrays: dict[str, np.ndarray], prefix: str) -> RunningMeanStd:
    mean = arrays[f"{prefix}.mean"]
    rms = RunningMeanStd(shape=mean.shape)
    rms.mean, rms.var, rms.count = mean.astype(np.float64), arrays[f"{prefix}.var"].astype(np.float64), \
        float(arrays[f"{prefix}.count"])
    return rms
