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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym

from gymsuite.common import legacy
from gymsuite.common.errors import UserError

EnvSpec = str | Callable[..., gym.Env]
EnvFactory = Callable[..., gym.Env]


def spec_name(spec: EnvSpec) -> str:
    """A printable name for ``spec`` (the string itself, or ``module:Class``)."""
    if isinstance(spec, str):
        return spec
    return f"{getattr(spec, '__module__', '?')}:{getattr(spec, '__qualname__', repr(spec))}"


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
    name = f"gymsuite_user_{file.stem}"
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(file.resolve()):
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, file.resolve())
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # so SubprocVecEnv / pickling can find it
    try:
        module_spec.loader.exec_module(module)
    except Exception as err:
        del sys.modules[name]
        raise UserError(f"importing {path} failed: {type(err).__name__}: {err}") from err
    return module


# Packages that register their ids when imported, by the ids' prefix (an id "Namespace/Name-v0" also
# tries its namespace as a module: "gymnasium_2048/TwentyFortyEight-v0" imports gymnasium_2048).
PACKAGES_BY_PREFIX = {
    "ALE/": "ale_py", "MiniGrid-": "minigrid", "BabyAI-": "minigrid", "MiniWorld-": "miniworld",
    "highway-": "highway_env", "merge-": "highway_env", "roundabout-": "highway_env", "parking-": "highway_env",
    "intersection-": "highway_env", "racetrack-": "highway_env", "exit-": "highway_env", "u-turn-": "highway_env",
    "FetchReach-": "gymnasium_robotics", "PointMaze_": "gymnasium_robotics", "AntMaze_": "gymnasium_robotics",
}
_PIP_NAMES = {"ale_py": "ale-py", "highway_env": "highway-env", "gymnasium_robotics": "gymnasium-robotics"}
_PACKAGE_FORM = ("an id that a package registers on import can be written package:Env-id, "
                 "e.g. minigrid:MiniGrid-Empty-8x8-v0")


def import_registering(env_id: str) -> str:
    """Import the package that should register ``env_id`` (by prefix or namespace); return its name.

    Raises:
        UserError: no candidate package registers it: names the one to install, or the ``package:Env-id`` form.
    """
    known = [pkg for prefix, pkg in PACKAGES_BY_PREFIX.items() if env_id.startswith(prefix)]
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
    close = difflib.get_close_matches(env_id, list(gym.registry), n=3, cutoff=0.6)
    tried = f" (no package {' or '.join(missing)} to import)" if missing else ""
    raise UserError(f"unknown environment id {env_id!r}{tried}",
                    f"did you mean {', '.join(close)}?" if close else
                    f"{_PACKAGE_FORM}; list the ids registered now with: python -c 'import gymnasium; "
                    "gymnasium.pprint_registry()'")
