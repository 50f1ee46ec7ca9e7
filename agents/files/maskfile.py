"""A pruned run's masks as data: ``masks.npz``, one bool array per pruned parameter (True: the weight is kept).

Written by ``gymsuite compress --prune`` beside ``model.zip`` (whose pruned weights are zeros); read back to keep
those zeros at zero when the policy is pruned again (:mod:`gymsuite.agents.run.pruning`). Keys are the parameters'
names in ``policy.named_parameters()`` (``mlp_extractor.policy_net.0.weight``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch as th

from gymsuite.common.datafiles import DamagedFileError, read_npz
from gymsuite.common.files import atomic_write

MASKS_NAME = "masks.npz"


def save_masks(path: Path, masks: Mapping[str, th.Tensor]) -> None:
    """Write ``masks`` to ``path`` (``.npz``, no pickle), atomically."""
    arrays = {name: mask.detach().cpu().numpy().astype(bool) for name, mask in masks.items()}
    atomic_write(path, lambda tmp: np.savez_compressed(tmp, **arrays))  # type: ignore[arg-type]


def load_masks(path: Path) -> dict[str, th.Tensor]:
    """The masks of ``path``; a damaged or foreign file is a :class:`DamagedFileError`."""
    what, fix = "a file of pruning masks", "prune the run again"
    arrays = read_npz(path, what, fix)
    if any(array.dtype != np.bool_ for array in arrays.values()):
        raise DamagedFileError(path, what, "an array that is not boolean", fix)
    return {name: th.as_tensor(array) for name, array in arrays.items()}
