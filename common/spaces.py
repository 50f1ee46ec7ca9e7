"""Describing and comparing gymnasium spaces: one place for what files store and what loaders check.

A space's description is a JSON-safe dict (``{"type": "Box", "shape": [4], "dtype": "float32"}``)
written into demonstration files and reward files and compared on loading.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from gymsuite.common.errors import UserError


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


def space_to_json(space: spaces.Space) -> dict[str, Any]:
    """A complete JSON-safe description of ``space`` (bounds included), rebuilt by :func:`space_from_json`.

    Model files keep it beside SB3's pickled spaces, so that loading a model needs no unpickling.
    A Box's bounds are one number when uniform (image spaces), else nested lists (JSON's
    ``Infinity`` for unbounded dimensions).
    """
    if isinstance(space, spaces.Box):
        bounds = {end: (float(a.flat[0]) if a.size and (a == a.flat[0]).all() else a.tolist())
                  for end, a in (("low", space.low), ("high", space.high))}
        return {"type": "Box", "shape": list(space.shape), "dtype": str(space.dtype), **bounds}
    if isinstance(space, spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": np.asarray(space.nvec).tolist(),
                "start": np.asarray(space.start).tolist()}
    if isinstance(space, spaces.Dict):
        return {"type": "Dict", "spaces": {key: space_to_json(sub) for key, sub in space.spaces.items()}}
    if isinstance(space, spaces.Tuple):
        return {"type": "Tuple", "spaces": [space_to_json(sub) for sub in space.spaces]}
    return describe_space(space)  # Discrete, MultiBinary: their description is complete


def space_from_json(desc: dict[str, Any]) -> spaces.Space:
    """The space :func:`space_to_json` described.

    Raises:
        ValueError: ``desc`` is not such a description.
    """
    kind = desc.get("type")
    if kind == "Box":
        dtype = np.dtype(desc["dtype"])
        low, high = (np.broadcast_to(np.asarray(desc[end], dtype=dtype), desc["shape"]) for end in ("low", "high"))
        return spaces.Box(low, high, dtype=dtype)
    if kind == "Discrete":
        return spaces.Discrete(int(desc["n"]), start=int(desc.get("start", 0)))
    if kind == "MultiDiscrete":
        return spaces.MultiDiscrete(desc["nvec"], start=desc.get("start"))
    if kind == "MultiBinary":
        return spaces.MultiBinary(desc["n"])
    if kind == "Dict":
        return spaces.Dict({key: space_from_json(sub) for key, sub in desc["spaces"].items()})
    if kind == "Tuple":
        return spaces.Tuple([space_from_json(sub) for sub in desc["spaces"]])
    raise ValueError(f"not a space description: {desc!r}")


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
