"""What an env spec is, and loading the code it names: the bottom of :mod:`gymsuite.envs`.

It also imports the package that registers an id (:func:`import_registering`, by the id's prefix or namespace).
Both builders of envs start here: :mod:`gymsuite.envs.factory` (single-agent Gymnasium envs) and
:mod:`gymsuite.envs.multiagent.source` (PettingZoo envs) read a ``"module:attr"`` or ``"file.py:attr"``
spec with the same two loaders, so a module or file is imported one way, with one error for each mistake.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import gymnasium as gym

from gymsuite.common import legacy
from gymsuite.common.errors import UserError

EnvSpec = str | Callable[..., gym.Env]
EnvFactory = Callable[..., gym.Env]


# Modules imported from a user's file (:func:`load_file`) -> the path the user gave, and the file's resolved path ->
# the same: messages name the file, never the synthetic module name ("gymsuite_user_<stem>") Python keeps it under.
_USER_FILES: dict[str, str] = {}
_USER_PATHS: dict[str, str] = {}
_USER_PREFIX = "gymsuite_user_"


def spec_name(spec: EnvSpec) -> str:
    """A printable name for ``spec``: the string itself, ``module:Class``, or ``path/to/file.py:Class`` for a class
    defined in a file loaded by :func:`load_file`."""
    if isinstance(spec, str):
        return spec
    return f"{code_location(getattr(spec, '__module__', '?'))}:{getattr(spec, '__qualname__', repr(spec))}"


def code_location(module_name: str) -> str:
    """The user's file path for a module :func:`load_file` imported, else ``module_name`` itself."""
    return _USER_FILES.get(module_name, module_name)


def load_code(target: str) -> Any:
    """The module of a ``target:attr`` spec: a ``.py`` path (:func:`load_file`) or a module (:func:`load_module`)."""
    return load_file(target) if target.endswith(".py") or "/" in target else load_module(target)


def is_custom(spec: EnvSpec) -> bool:
    """True for user code (``module:Class``, ``file.py:Class``, a class) rather than a registered id."""
    return not isinstance(spec, str) or ":" in spec


def load_module(module_name: str) -> Any:
    """Import ``module_name`` (a name from before 0.2, ``envs.custom...``, reads as gymsuite's).

    Raises:
        UserError: the module (or one it imports) is not installed.
    """
    try:
        return legacy.import_module(module_name)
    except ModuleNotFoundError as err:
        raise UserError(f"cannot import module {module_name!r} ({err})",
                        "check the spelling, install the package, or use path/to/file.py:Class") from err


def load_file(path: str) -> Any:
    """Import the Python file at ``path`` as a module (once per file; kept in ``sys.modules`` for pickling).

    Raises:
        UserError: no such file, or importing it raised.
    """
    file = Path(path)
    if not file.is_file():
        raise UserError(f"environment file {path!r} does not exist", "give a path to a .py file, e.g. my_env.py:MyEnv")
    name = f"{_USER_PREFIX}{file.stem}"
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(file.resolve()):
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, file.resolve())
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # so SubprocVecEnv / pickling can find it
    _USER_FILES[name], _USER_PATHS[str(file.resolve())] = path, path
    try:
        module_spec.loader.exec_module(module)
    except Exception as err:
        del sys.modules[name]
        raise UserError(f"importing {path} failed: {describe_error(err)}",
                        f"fix {path} (python {path} shows the traceback)") from err
    return module


def describe_error(err: BaseException, locate: bool = False) -> str:
    """``"RuntimeError: boom (my_env.py line 12)"``: an exception from user code as the user wrote it: the innermost
    line of a user's env file it came through, and the files' paths instead of the module names they are imported
    under. ``locate``: an exception that did not come through a user's file gets the innermost frame's
    ``(file.py:line)`` (a bug to report)."""
    text = err.msg if isinstance(err, SyntaxError) and err.msg else str(err)
    for module_name, path in _USER_FILES.items():
        text = text.replace(module_name, path)
    where = _user_line(err)
    if not where and locate:
        last = traceback.extract_tb(err.__traceback__)[-1:]
        where = f" ({last[0].filename}:{last[0].lineno})" if last else ""
    return f"{type(err).__name__}: {text}{where}"


def _user_line(err: BaseException) -> str:
    """`` (my_env.py line 12)``: the innermost frame of ``err`` in a file :func:`load_file` imported, else ``""``."""
    if isinstance(err, SyntaxError) and err.filename in _USER_PATHS and err.lineno is not None:
        return f" ({_USER_PATHS[err.filename]} line {err.lineno})"
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename in _USER_PATHS]
    return f" ({_USER_PATHS[frames[-1].filename]} line {frames[-1].lineno})" if frames else ""


# Packages that register their ids when imported, by the ids' prefix (an id "Namespace/Name-v0" also
# tries its namespace as a module: "gymnasium_2048/TwentyFortyEight-v0" imports gymnasium_2048).
PACKAGES_BY_PREFIX = {
    "ALE/": "ale_py", "MiniGrid-": "minigrid", "BabyAI-": "minigrid", "MiniWorld-": "miniworld",
    "highway-": "highway_env", "merge-": "highway_env", "roundabout-": "highway_env", "parking-": "highway_env",
    "intersection-": "highway_env", "racetrack-": "highway_env", "exit-": "highway_env", "u-turn-": "highway_env",
    "FetchReach-": "gymnasium_robotics", "PointMaze_": "gymnasium_robotics", "AntMaze_": "gymnasium_robotics",
}
# The same by suffix: ale-py's ids outside its ALE/ namespace (PongNoFrameskip-v4, BreakoutDeterministic-v4).
PACKAGES_BY_SUFFIX = {"NoFrameskip-v4": "ale_py", "NoFrameskip-v0": "ale_py", "Deterministic-v4": "ale_py",
                      "Deterministic-v0": "ale_py"}
_PIP_NAMES = {"ale_py": "ale-py", "highway_env": "highway-env", "gymnasium_robotics": "gymnasium-robotics"}
_PACKAGE_FORM = ("an id that a package registers on import can be written package:Env-id, "
                 "e.g. minigrid:MiniGrid-Empty-8x8-v0")


def import_registering(env_id: str) -> str:
    """Import the package that should register ``env_id`` (by prefix or namespace); return its name.

    Raises:
        UserError: no candidate package registers it: names the one to install, or the ``package:Env-id`` form.
    """
    known = [pkg for prefix, pkg in PACKAGES_BY_PREFIX.items() if env_id.startswith(prefix)]
    known += [pkg for suffix, pkg in PACKAGES_BY_SUFFIX.items() if env_id.endswith(suffix)]
    namespace = env_id.split("/", 1)[0] if "/" in env_id else ""
    guesses = [namespace, namespace.lower().replace("-", "_")] if namespace.isidentifier() else []
    missing = []
    for package in dict.fromkeys(known + guesses):
        try:
            importlib.import_module(package)
        except ModuleNotFoundError as err:
            if err.name != package:  # the package is there, one of its own dependencies is not
                raise UserError(f"importing {package} (which registers {env_id}) failed: {err}",
                                f"install what {package} needs: pip install {err.name}") from err
            missing.append(package)
            continue
        except Exception as err:
            raise UserError(f"importing {package} (which registers {env_id}) failed: {type(err).__name__}: {err}",
                            f"check that {package} works: python -c 'import {package}'") from err
        if env_id in gym.registry:
            return package
    if known and known[0] in missing:
        pip = _PIP_NAMES.get(known[0], known[0])
        raise UserError(f"unknown environment id {env_id!r}: the package {known[0]} registers it, "
                        "and it is not installed", f"pip install {pip}")
    tried = f" (no package {' or '.join(missing)} to import)" if missing else ""
    raise UserError(f"unknown environment id {env_id!r}{tried}",
                    close_ids(env_id, otherwise=f"{_PACKAGE_FORM}; list the ids registered now with: python -c "
                                                "'import gymnasium; gymnasium.pprint_registry()'"))


def close_ids(env_id: str, ids: Iterable[str] | None = None, otherwise: str = "") -> str:
    """The fix for an unknown ``env_id``: up to three of ``ids`` (default: every registered id) close to it,
    ``did you mean 'A', 'B'?``; ``otherwise`` when none is. The one wording of every unknown-id message."""
    close = difflib.get_close_matches(env_id, list(gym.registry if ids is None else ids), n=3, cutoff=0.6)
    return f"did you mean {', '.join(repr(c) for c in close)}?" if close else otherwise
