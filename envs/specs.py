"""What an env spec is, and loading the code it names: the bottom of :mod:`gymsuite.envs`.

Both builders of envs start here: :mod:`gymsuite.envs.factory` (single-agent Gymnasium envs) and
:mod:`gymsuite.envs.multiagent.source` (PettingZoo envs) read a ``"module:attr"`` or ``"file.py:attr"``
spec with the same two loaders, so a module or file is imported one way, with one error for each mistake.
"""

from __future__ import annotations

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
