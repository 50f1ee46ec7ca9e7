"""An off-policy checkpoint's replay buffer as a pickle-free ``.npz``, read with ``allow_pickle=False``.

SB3's ``save_replay_buffer`` pickles the whole buffer object, so loading it runs any code the file
carries. This file holds the buffer's arrays, filled part only, and its position::

    observations, next_observations    (S, N, *O)   the space's dtype; per key "observations/<key>"
                                                    for Dict observations; next_observations absent
                                                    with optimize_memory_usage
    actions                            (S, N, A)
    rewards, dones, timeouts           (S, N)       float32
    pos, full, size                    ()           where the next transition goes; whether it wrapped;
                                                    the buffer's length (S = size when full, else pos)

It is read into the buffer the resumed model builds from the run's config, which has the same shape.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from stable_baselines3.common.buffers import DictReplayBuffer, ReplayBuffer

from gymsuite.common.datafiles import DamagedFileError, read_npz
from gymsuite.common.files import atomic_write

_PLAIN = ("actions", "rewards", "dones", "timeouts")


def save_replay(buffer: ReplayBuffer | DictReplayBuffer, path: Path) -> None:
    """Write ``buffer``'s filled transitions and position to ``path`` (``.npz``), atomically."""
    used = buffer.buffer_size if buffer.full else buffer.pos
    arrays: dict[str, np.ndarray] = {name: getattr(buffer, name)[:used] for name in _PLAIN}
    for name in ("observations", "next_observations"):
        value = getattr(buffer, name, None)
        if isinstance(value, dict):
            arrays.update({f"{name}/{key}": part[:used] for key, part in value.items()})
        elif value is not None:
            arrays[name] = value[:used]
    arrays.update(pos=np.asarray(buffer.pos), full=np.asarray(buffer.full), size=np.asarray(buffer.buffer_size))

    def write(tmp: Path) -> None:
        with tmp.open("wb") as f:  # a file object: np.savez would add ".npz" to the temporary's name
            np.savez(f, allow_pickle=False, **arrays)

    atomic_write(path, write)


def load_replay(path: Path, buffer: ReplayBuffer | DictReplayBuffer) -> None:
    """Fill ``buffer`` (as the resumed model built it) with the transitions of ``path``.

    Raises:
        DamagedFileError: the file is damaged, or its buffer has another shape than ``buffer``.
    """
    what, fix = "a replay buffer of this run", "delete it to resume with an empty replay buffer"
    arrays = read_npz(path, what, fix)
    try:
        if int(arrays["size"]) != buffer.buffer_size:
            raise ValueError(f"it holds a buffer of {int(arrays['size'])} steps, the run's has {buffer.buffer_size}")
        for name, array in arrays.items():
            if name in ("pos", "full", "size"):
                continue
            field, _, key = name.partition("/")
            target = getattr(buffer, field)
            target = target[key] if key else target
            target[: len(array)] = array  # numpy checks the other dimensions
        buffer.pos, buffer.full = int(arrays["pos"]), bool(arrays["full"])
    except KeyError as err:
        raise DamagedFileError(path, what, f"it has no array {err}", fix) from err
    except (ValueError, TypeError, AttributeError) as err:  # an array of another shape, a field SB3 lacks
        raise DamagedFileError(path, what, str(err), fix) from err
