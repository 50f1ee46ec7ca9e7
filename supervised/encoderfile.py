"""Encoder files: a pre-trained backbone's weights with what is needed to check they fit a run.

``gymsuite pretrain --out encoder.pt`` writes one; ``--hyperparams backbone_init=encoder.pt``
reads it. It is a plain dict saved with ``torch.save`` and read with ``weights_only=True``
(no unpickling of code)::

    {"format": "gymsuite-encoder", "version": 1,
     "backbone": "icm_cnn",                      # a name of gymsuite.supervised.backbones.BACKBONES
     "backbone_kwargs": {"features_dim": 64},    # as given to the backbone (freeze/augment left out)
     "observation_space": {...},                 # gymsuite.common.spaces.space_to_json of what the backbone saw
     "state_dict": {...}}                        # the backbone's weights

Shapes: the state dict's tensors are the backbone's own.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import torch
from gymnasium import spaces

from gymsuite.common.datafiles import read_torch
from gymsuite.common.errors import UserError
from gymsuite.common.files import atomic_write_buffered
from gymsuite.common.spaces import show_space, space_to_json
from gymsuite.supervised import backbones

FORMAT, VERSION = "gymsuite-encoder", 1
# Backbone arguments that change how weights are used, not their shapes: left out of the file and the comparison.
RUN_ONLY_KWARGS = frozenset({"freeze", "augment"})


def save_encoder(path: Path, backbone: str, backbone_kwargs: dict[str, Any], space: spaces.Space,
                 state_dict: dict[str, torch.Tensor]) -> None:
    """Write an encoder file atomically (see the module docstring for its keys)."""
    data = {"format": FORMAT, "version": VERSION, "backbone": backbone,
            "backbone_kwargs": {k: v for k, v in backbone_kwargs.items() if k not in RUN_ONLY_KWARGS},
            "observation_space": space_to_json(space),
            "state_dict": {k: v.detach().cpu().clone() for k, v in state_dict.items()}}
    atomic_write_buffered(path, lambda f: torch.save(data, f))


def read_encoder(path: str | Path) -> dict[str, Any]:
    """The dict of an encoder file, or a :class:`UserError` for a missing, unreadable or foreign file."""
    path = Path(path)
    fix = "pass a file written by: gymsuite pretrain --env ENV --frames N --out encoder.pt"
    if not path.is_file():
        raise UserError(f"no encoder file {path}", fix)
    data = read_torch(path, "an encoder file", fix)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError(f"{path} is not a gymsuite encoder file", fix)
    if data.get("version") != VERSION:
        raise UserError(f"{path} is an encoder file of version {data.get('version')}, this gymsuite reads {VERSION}",
                        "pre-train the encoder again with this version")
    missing = {"backbone", "backbone_kwargs", "observation_space", "state_dict"} - data.keys()
    if missing:
        raise UserError(f"{path} is an incomplete encoder file (no {', '.join(sorted(missing))})", fix)
    return data


def check_fits(data: dict[str, Any], path: str | Path, backbone: str, backbone_kwargs: dict[str, Any],
               space: spaces.Space) -> None:
    """Raise a :class:`UserError` unless the encoder file ``data`` was trained for this backbone and observation.

    Args:
        data: :func:`read_encoder`'s dict. path: its file, for messages.
        backbone: the run's backbone name. backbone_kwargs: its arguments (defaults are filled in on both sides).
        space: the observation space the run's backbone sees.
    """
    if data["observation_space"] != space_to_json(space):
        raise UserError(f"{path} was trained on observations {show_space(data['observation_space'])}, "
                        f"but this run's are {show_space(space_to_json(space))}",
                        "pre-train an encoder on this environment (with the same wrappers and env_kwargs)")
    if data["backbone"] != backbone:
        raise UserError(f"{path} holds a {data['backbone']!r} backbone, but this run uses {backbone!r}",
                        f"pass --hyperparams backbone={data['backbone']}, or pre-train a {backbone} encoder")
    saved, run = full_kwargs(backbone, data["backbone_kwargs"]), full_kwargs(backbone, backbone_kwargs)
    if saved != run:
        raise UserError(f"{path} holds a {backbone} backbone built with {saved}, but this run's has {run}",
                        "give the run the encoder's backbone_kwargs, or pre-train with the run's")


def full_kwargs(backbone: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` of the backbone called ``backbone`` with its defaults filled in, :data:`RUN_ONLY_KWARGS` left out."""
    params = inspect.signature(backbones.get(backbone).__init__).parameters
    defaults = {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}
    return {k: v for k, v in {**defaults, **kwargs}.items() if k not in RUN_ONLY_KWARGS}
