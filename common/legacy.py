"""The module names that files saved before gymsuite had one import name still carry, and today's names for them.

Until 0.2 the wheel installed ``agents``, ``common``, ``envs``, ``rewards`` and ``supervised`` as top-level
packages. A run's ``config.yaml`` from then names env classes by those paths (``env:
envs.custom.tmaze:TMazeEnv``), and its ``model.zip`` names policy and backbone classes by them
(``supervised.cnns.SmallCnn``). Such a name means gymsuite's module when gymsuite has a module of that
path; a user's own package of the same top-level name is used only for paths gymsuite does not have.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

PACKAGES = ("agents", "common", "envs", "rewards", "supervised")


def current_name(module: str) -> str:
    """Today's name of ``module``: ``gymsuite.<module>`` for a path of gymsuite's before 0.2, else ``module``.

    >>> current_name("envs.custom.tmaze"), current_name("numpy")
    ('gymsuite.envs.custom.tmaze', 'numpy')
    """
    if module.split(".", 1)[0] not in PACKAGES:
        return module
    try:
        found = importlib.util.find_spec(f"gymsuite.{module}")
    except ModuleNotFoundError:  # a parent package of that path is not gymsuite's
        found = None
    return f"gymsuite.{module}" if found is not None else module


def import_module(module: str) -> ModuleType:
    """``importlib.import_module`` that reads a name from before 0.2 as gymsuite's (:func:`current_name`)."""
    return importlib.import_module(current_name(module))

