"""Loading an SB3 model zip without unpickling anything: the default for every load in gymsuite.

SB3's ``load`` cloudpickles the objects of the zip's ``data`` JSON (spaces, schedules, the
policy class, any attribute), so a crafted zip runs code when it is loaded (SB3 issues
#1831/#1852). Here the JSON's pickles are never decoded; what SB3 needs is rebuilt from the
readable fields SB3 writes beside each pickle:

* spaces from gymsuite's own description, which :func:`keep_description` adds to every model gymsuite
  saves (:func:`gymsuite.common.spaces.space_to_json`, any space); in other zips, ``Box``, ``Discrete``,
  ``MultiDiscrete`` and ``MultiBinary`` from the fields SB3 prints beside the pickle;
* schedules as constants, or SB3's ``LinearSchedule`` (what gymsuite's ``lin_X`` becomes)
  from its printed parameters; an unreadable schedule (a lambda, rl-baselines3-zoo's) becomes
  a constant, which is all evaluation needs;
* the policy class, buffer classes and ``policy_kwargs`` classes from allowlists: SB3's, gymsuite's backbones,
  and the classes the caller names (the algorithms' own, which their specs declare:
  ``gymsuite.agents.algorithms.registry.saved_classes``);
* state that a run restores from elsewhere (``_last_obs``, episode buffers) is dropped.

Anything else pickled is refused with a :class:`UserError` naming the field. The weights come
from the zip's ``.pth`` members, read by SB3 with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common import buffers, policies
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.save_util import load_from_zip_file, recursive_setattr
from stable_baselines3.common.utils import ConstantSchedule, LinearSchedule

from gymsuite.agents.files.modelfile import ALGO_FIELD, read_data
from gymsuite.common.datafiles import DamagedFileError
from gymsuite.common.errors import UserError
from gymsuite.common.legacy import current_name
from gymsuite.common.spaces import space_from_json, space_to_json
from gymsuite.supervised.backbones import BACKBONES
from gymsuite.supervised.trunk import SharedTrunk

TRUST_PICKLE_HELP = ("load model zips and .pkl state with SB3's and pickle's own loaders, which run any code the "
                     "file carries: only for files you trust (older gymsuite runs, models from other tools)")

_PICKLED = ":serialized:"
# Attributes that a loaded model does not need from the file: a resume restores them from its
# own pickle-free state (gymsuite.agents.files.resumestate), evaluation never reads them.
_DROPPED = {"_last_obs", "_last_episode_starts", "_last_original_obs", "ep_info_buffer", "ep_success_buffer",
            "action_noise", "env", "_vec_normalize_env", "lr_schedule", "_last_lstm_states"}
# Pickled fields SB3 prints nothing readable for; their defaults (SB3's) only matter to further training.
_UNREADABLE: dict[str, Any] = {"train_freq": (4, "step")}  # DQN's TrainFreq, a namedtuple holding an enum
SCHEDULES = {"learning_rate", "clip_range", "clip_range_vf", "exploration_schedule"}
# Modules that gymsuite's own older saves name (the shared trunk's, before the layers), mapped to
# where their classes live now; the plain-SB3 path (--trust-pickle) lends the old names too.
MOVED_MODULES = {"agents.policy_gradient": "gymsuite.supervised.trunk"}
_CLASSES: tuple[type, ...] = (
    torch.nn.Tanh, torch.nn.ReLU, torch.nn.ELU, torch.nn.LeakyReLU, torch.nn.GELU, torch.nn.SiLU,
    torch.optim.Adam, torch.optim.AdamW, torch.optim.RMSprop, torch.optim.SGD,
    buffers.RolloutBuffer, buffers.DictRolloutBuffer, buffers.ReplayBuffer, buffers.DictReplayBuffer,
    *BACKBONES.values())
# gymsuite's shared trunk under the names older saves gave it
_MOVED_CLASSES = {f"{module}.SharedTrunk": SharedTrunk
                  for module in (*MOVED_MODULES, "supervised.trunk", "gymsuite.supervised.trunk")}
_CLASS_REPR = re.compile(r"<class '([\w.]+)'>")


SPACES_FIELD = "gymsuite_spaces"


def keep_description(model: BaseAlgorithm, algo: str | None = None) -> None:
    """Give ``model`` a plain description of its spaces (and the name of its algorithm), which SB3's ``save``
    writes into the zip's JSON.

    SB3 stores spaces only as pickles (with a printed form that loses Dict spaces and large bounds);
    this attribute lets :func:`load_safely` rebuild them exactly. SB3 does not store which algorithm
    saved a zip; ``algo`` (:data:`gymsuite.agents.files.modelfile.ALGO_FIELD`) tells a bare zip's loader.
    Plain SB3's ``load`` restores both as unused attributes.
    """
    setattr(model, SPACES_FIELD, {"observation_space": space_to_json(model.observation_space),
                                  "action_space": space_to_json(model.action_space)})
    if algo is not None:
        setattr(model, ALGO_FIELD, algo)


def is_pickled(value: Any) -> bool:
    """``value`` is one of SB3's pickled JSON entries (``{":type:": ..., ":serialized:": ...}``)."""
    return isinstance(value, dict) and _PICKLED in value


def known_classes(classes: Iterable[type] = ()) -> dict[str, type]:
    """The allowlist: every class a zip may name (SB3's buffers, activations and optimisers, gymsuite's backbones,
    and ``classes``), under each name a zip may print for it (``module.Qualname``; a gymsuite class also under its
    name from before 0.2, ``supervised.cnns.SmallCnn``)."""
    every = (*_CLASSES, *classes)
    return {**{f"{c.__module__}.{c.__qualname__}": c for c in every},
            **{f"{c.__module__.removeprefix('gymsuite.')}.{c.__qualname__}": c
               for c in every if c.__module__.startswith("gymsuite.")},
            **_MOVED_CLASSES}


def load_safely(cls: type[BaseAlgorithm], path: Path, classes: Iterable[type] = (),
                overrides: dict[str, Any] | None = None) -> BaseAlgorithm:
    """``cls.load(path)`` rebuilt from plain values (see the module docstring), on the CPU.

    Args:
        cls: the algorithm class to build.
        path: the model zip.
        classes: gymsuite classes the zip may name besides SB3's: policy classes accepted besides
            ``cls.policy_aliases`` and SB3's actor-critic ones, buffer and features-extractor classes.
        overrides: values for fields the file cannot tell without unpickling (a resume passes its
            config's ``train_freq`` and schedules); by default :data:`_UNREADABLE`'s.

    Raises:
        UserError: a field holds a pickle that cannot be rebuilt safely (it names the field).
    """
    data = read_data(path)
    overrides = {**_UNREADABLE, **(overrides or {})}
    described = data.get(SPACES_FIELD)
    if isinstance(described, dict) and not _contains_pickle(described):
        try:
            overrides.update({key: space_from_json(described[key]) for key in ("observation_space", "action_space")})
        except (KeyError, ValueError, TypeError, AttributeError) as err:
            raise UserError(f"{path}'s field {SPACES_FIELD!r} is not a description of its spaces ({err})",
                            "pass a model.zip saved by SB3 or gymsuite") from err
    classes = tuple(classes)
    known = known_classes(classes)
    allowed: list[type] = [*cls.policy_aliases.values(), *(c for c in classes if issubclass(c, policies.BasePolicy)),
               policies.ActorCriticPolicy, policies.ActorCriticCnnPolicy, policies.MultiInputActorCriticPolicy]
    plain: dict[str, Any] = {}
    for key, value in data.items():
        if key in _DROPPED:
            continue
        if key in overrides:
            plain[key] = overrides[key]
            continue
        if key == "policy_class":
            plain[key] = _policy_class(path, value, allowed)
        elif key in ("observation_space", "action_space"):
            plain[key] = _space(path, key, value)
        elif key in SCHEDULES:
            plain[key] = _schedule(value) if is_pickled(value) else value
        elif key == "policy_kwargs":
            plain[key] = _policy_kwargs(path, value, known)
        elif key.endswith("_buffer_class") and value is not None:
            plain[key] = _known_class(path, key, value, known)
        elif _contains_pickle(value):
            raise _refused(path, key)
        else:
            plain[key] = value
    if "policy_class" not in plain or "observation_space" not in plain or "action_space" not in plain:
        raise DamagedFileError(path, "an SB3 model file", "it lacks its policy class or spaces",
                               "pass a model.zip saved by SB3 or gymsuite")
    plain["policy_kwargs"] = {k: v for k, v in plain.get("policy_kwargs", {}).items() if k != "device"}
    _, params, variables = load_from_zip_file(path, device="cpu", load_data=False)  # torch.load(weights_only=True)
    model = cls(policy=plain["policy_class"], env=None, device="cpu", _init_setup_model=False)  # type: ignore[call-arg]
    model.__dict__.update(plain)
    model._setup_model()
    model.set_parameters(params, exact_match=True, device="cpu")
    for name, tensor in (variables or {}).items():  # e.g. SAC's log_ent_coef, as SB3's load does
        if tensor is not None:
            recursive_setattr(model, f"{name}.data", tensor.data)
    if model.use_sde:
        model.policy.reset_noise()  # type: ignore[operator]
    return model


def _refused(path: Path, key: str, what: str = "") -> UserError:
    what = f" ({what})" if what else ""
    return UserError(f"{path} stores a pickled Python object in its field {key!r}{what}, which gymsuite does not "
                     "load (unpickling runs whatever code the file carries)",
                     f"if you trust the file, pass --trust-pickle ({TRUST_PICKLE_HELP})")


def _contains_pickle(value: Any) -> bool:
    if is_pickled(value):
        return True
    if isinstance(value, dict):
        return any(_contains_pickle(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_pickle(v) for v in value)
    return False


def _policy_class(path: Path, value: Any, allowed: list[type]) -> type:
    """The allowlisted class whose module and name the pickle's readable fields give."""
    if not isinstance(value, dict):
        raise _refused(path, "policy_class")
    module = value.get("__module__")
    # SB3 prints each method beside the pickle, e.g. "<function ActorCriticCnnPolicy.__init__ at 0x...>";
    # the class that defines __init__ (every SB3 policy does) names the class itself.
    match = re.match(r"<function ([\w.]+)\.__init__ ", str(value.get("__init__", "")))
    module = current_name(module) if isinstance(module, str) else module  # a zip saved before 0.2
    for candidate in allowed:
        if candidate.__module__ == module and match and candidate.__qualname__ == match.group(1):
            return candidate
    raise UserError(f"{path}'s field 'policy_class' names a policy gymsuite does not rebuild "
                    f"({module}.{match.group(1) if match else '?'})",
                    f"if you trust the file, pass --trust-pickle ({TRUST_PICKLE_HELP})")


def _known_class(path: Path, key: str, value: Any, known: dict[str, type]) -> type:
    text = value if isinstance(value, str) else ""
    if isinstance(value, dict):  # a pickled class: SB3 writes its module and own methods beside it
        # (__init__ for SB3's buffers; a subclass that defines no __init__ prints its other methods)
        owners = {m.group(1) for v in value.values() if (m := re.match(r"<function ([\w.]+)\.\w+ at ", str(v)))}
        text = f"<class '{value.get('__module__')}.{owners.pop() if len(owners) == 1 else ''}'>"
    found = _CLASS_REPR.fullmatch(text)
    if found is None or found.group(1) not in known:
        raise _refused(path, key)
    return known[found.group(1)]


def _policy_kwargs(path: Path, value: Any, known: dict[str, type]) -> dict[str, Any]:
    """Plain values pass; classes printed as ``<class 'module.Name'>`` come from the allowlist."""
    if not isinstance(value, dict):
        raise _refused(path, "policy_kwargs")
    kwargs: dict[str, Any] = {}
    for key, item in value.items():
        if key in (":type:", _PICKLED):
            continue
        if is_pickled(value) and isinstance(item, str) and item.startswith(("<class ", "{", "[")):  # printed by SB3
            kwargs[key] = _printed(path, f"policy_kwargs.{key}", item, known)
        elif _contains_pickle(item) or (isinstance(item, str) and item.startswith("<")):
            raise _refused(path, f"policy_kwargs.{key}")
        else:
            kwargs[key] = item
    return kwargs


def _printed(path: Path, key: str, text: str, known: dict[str, type]) -> Any:
    """A value SB3 printed because JSON could not hold it: an allowlisted class, or a dict/list of plain
    values and such classes (e.g. ``{'activation_fn': <class 'torch.nn.modules.activation.Tanh'>}``)."""
    names = _CLASS_REPR.findall(text)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise _refused(path, key, f"the class {unknown[0]}, which is not on gymsuite's list of known classes")
    if _CLASS_REPR.fullmatch(text):
        return known[names[0]]
    try:  # classes become their quoted names, then a literal (no code runs), then classes again
        value = ast.literal_eval(_CLASS_REPR.sub(lambda m: repr(f"<class {m.group(1)}>"), text))
    except (ValueError, SyntaxError) as err:
        raise _refused(path, key) from err
    return _with_classes(value, known)


def _with_classes(value: Any, known: dict[str, type]) -> Any:
    if isinstance(value, str) and value.startswith("<class ") and value[7:-1] in known:
        return known[value[7:-1]]
    if isinstance(value, dict):
        return {k: _with_classes(v, known) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_with_classes(v, known) for v in value)
    return value


_NUMBER = r"[-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|inf|nan)"


def _schedule(value: dict[str, Any]) -> Any:
    """SB3's ``FloatSchedule`` from its printed inner schedule; unreadable ones become a constant.

    An unreadable schedule (a lambda, or rl-baselines3-zoo's ``linear_schedule``) only matters for
    further training; the constant is its value at the end of training (0 steps left), which
    evaluation never uses.
    """
    kind = str(value.get(":type:", ""))
    if kind.endswith(".LinearSchedule'>"):
        return LinearSchedule(float(value["start"]), float(value["end"]), float(value["end_fraction"]))
    if kind.endswith(".ConstantSchedule'>"):
        return ConstantSchedule(float(value["val"]))
    text = str(value.get("value_schedule", ""))
    constant = re.fullmatch(rf"ConstantSchedule\(val=({_NUMBER})\)", text)
    if constant:
        return ConstantSchedule(float(constant.group(1)))
    linear = re.fullmatch(rf"LinearSchedule\(start=({_NUMBER}), end=({_NUMBER}), end_fraction=({_NUMBER})\)", text)
    if linear:
        return LinearSchedule(*(float(g) for g in linear.groups()))
    return ConstantSchedule(0.0)


def _space(path: Path, key: str, value: Any) -> spaces.Space:
    """A space from the fields SB3 prints beside its pickle (``n``, ``_shape``, ``low``, ``dtype``...)."""
    if not isinstance(value, dict):
        raise _refused(path, key)
    kind = str(value.get(":type:", ""))
    value = {k: str(v) for k, v in value.items()}  # SB3 writes JSON values as they are, others printed
    try:
        if kind.endswith("spaces.discrete.Discrete'>"):
            return spaces.Discrete(int(value["n"]), start=int(value.get("start", 0)))
        if kind.endswith("spaces.multi_discrete.MultiDiscrete'>"):
            return spaces.MultiDiscrete(_array(value["nvec"], value["_shape"], np.int64))
        if kind.endswith("spaces.multi_binary.MultiBinary'>"):
            return spaces.MultiBinary(int(value["n"]) if value["n"].isdigit() else _array(value["n"], "", np.int64))
        if kind.endswith("spaces.box.Box'>"):
            dtype = np.dtype(value["dtype"])
            low, high = (_array(value[end], value["_shape"], dtype) for end in ("low", "high"))
            return spaces.Box(low, high, dtype=dtype)
    except (KeyError, ValueError, TypeError, AttributeError) as err:
        raise UserError(f"{path}'s field {key!r} cannot be read without unpickling ({err})",
                        f"if you trust the file, pass --trust-pickle ({TRUST_PICKLE_HELP})") from err
    raise UserError(f"{path}'s field {key!r} is a {kind} space, which gymsuite rebuilds only by unpickling",
                    f"if you trust the file, pass --trust-pickle ({TRUST_PICKLE_HELP})")


def _array(text: str, shape: str, dtype: Any) -> np.ndarray:
    """An array from numpy's printed form, e.g. ``"[-4.8 -inf 0.41887903 -inf]"`` with ``shape`` ``"[4]"``
    (a tuple's JSON, or ``"(4,)"``; ``""`` for a flat array of the printed length).

    numpy prints floats in their shortest exact form, so the values round-trip; a large array
    printed with ``...`` is accepted only when every printed value is the same (image bounds, 0
    or 255), since that is the only case the elided values can be known.
    """
    dims = [int(d) for d in re.findall(r"\d+", shape)]
    values = [float(v) for v in re.findall(_NUMBER, text.replace("True", "1").replace("False", "0"))]
    if "..." in text:
        if len(set(values)) != 1:
            raise ValueError(f"the printed array {text[:40]!r} is elided")
        return np.full(dims, values[0], dtype=dtype)
    return np.array(values, dtype=dtype).reshape(dims if shape else -1)
