"""Describing and comparing gymnasium spaces: one place for what files store and what loaders check.

A space's description is a JSON-safe dict (``{"type": "Box", "shape": [4], "dtype": "float32"}``)
written into demonstration files and reward files and compared on loading.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from common.errors import UserError


def describe_space(space: spaces.Space) -> dict[str, Any]:
    """A JSON-safe description of an array space (what the file's ``meta`` stores)."""
    if isinstance(space, spaces.Box):
        return {"type": "Box", "shape": list(space.shape), "dtype": str(space.dtype)}
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": np.asarray(space.nvec).tolist()}
    if isinstance(space, spaces.MultiBinary):
        return {"type": "MultiBinary", "n": np.asarray(space.n).tolist()}
    raise UserError(f"demonstrations support Box, Discrete, MultiDiscrete and MultiBinary spaces, not {space}",
                    "flatten Dict/Tuple observations with gymnasium.wrappers.FlattenObservation")


def show_space(desc: dict[str, Any]) -> str:
    return f"{desc.get('type')}({', '.join(f'{k}={v}' for k, v in desc.items() if k != 'type')})"


def same_space(a: spaces.Space, b: spaces.Space) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, spaces.Box) and isinstance(b, spaces.Box):
        return a.shape == b.shape
    if isinstance(a, spaces.Discrete) and isinstance(b, spaces.Discrete):
        return a.n == b.n
    return a == b
