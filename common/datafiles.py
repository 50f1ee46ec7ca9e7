"""Reading the data files gymsuite writes, the one place per format that says what is wrong with a damaged one.

Three formats hold a run's data besides its model zips and YAML (:mod:`gymsuite.common.files`):

* ``.npz`` arrays (normaliser statistics, replay buffers, resume states, demonstrations), read with
  ``allow_pickle=False`` (:func:`read_npz`);
* torch files of plain tensors and containers (curiosity and auxiliary states, self-play snapshots, encoders,
  learned rewards; the ``.pth`` members of a model zip), read with ``weights_only=True`` (:func:`read_torch`,
  :func:`torch_problem`);
* CSV tables (``elo.csv``), read with their columns' types (:func:`read_table`).

A truncated file, garbage bytes, an object array or a pickled Python object in any of them is a
:class:`DamagedFileError`: a :class:`~gymsuite.common.errors.UserError` that names the file and what is wrong
with it, never a traceback, and never unpickled. ``--resume`` tells a damaged checkpoint by it and falls
back to an earlier one.
"""

from __future__ import annotations

import csv
import pickle
import re
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gymsuite.common.errors import UserError

# What torch.load raises on bytes that are not a torch file, or one cut short.
_TORCH_ERRORS = (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError,
                 KeyError, IndexError, TypeError, AttributeError)
_GLOBAL = re.compile(r"Unsupported global: GLOBAL ([\w.]+)")
_REASON = re.compile(r"WeightsUnpickler error:\s*([^\n]+)")


class DamagedFileError(UserError):
    """``path`` cannot be read as ``what``: truncated, garbage, or holding pickled objects (``problem`` says which).

    Attributes:
        path: the file.
        problem: what is wrong with it, in a few words (also in the message).
    """

    def __init__(self, path: Path, what: str, problem: str, fix: str | None = None) -> None:
        super().__init__(f"{path} is not {what}: {problem}", fix)
        self.path = Path(path)
        self.problem = problem


def read_npz(path: Path, what: str, fix: str | None = None) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` file ``path``, read whole (so that a damaged member fails here, not later).

    Args:
        path: the file.
        what: what it should be, for the message ("a resume state").
        fix: how to get a good one.

    Raises:
        DamagedFileError: not a zip archive (truncated, text, garbage), a damaged member, or an object array.
    """
    if not zipfile.is_zipfile(path):  # np.load would read anything else as a pickle and refuse "pickled data"
        raise DamagedFileError(path, what, _missing(path) or "corrupt or truncated (not a zip archive)", fix)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except ValueError as err:
        if "allow_pickle" in str(err):  # "Object arrays cannot be loaded when allow_pickle=False"
            raise DamagedFileError(path, what, "it holds pickled objects (an object array), which gymsuite does not "
                                   "load: unpickling runs whatever code the file carries", fix) from err
        raise DamagedFileError(path, what, f"corrupt or truncated ({err})", fix) from err
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error, KeyError) as err:
        raise DamagedFileError(path, what, f"corrupt or truncated ({err})", fix) from err


def read_torch(path: Path, what: str, fix: str | None = None, map_location: Any = "cpu") -> Any:
    """The contents of the torch file ``path``, loaded with ``weights_only=True`` (tensors and plain containers).

    Raises:
        DamagedFileError: truncated, garbage, or holding a pickled Python object.
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except _TORCH_ERRORS as err:
        raise DamagedFileError(path, what, _missing(path) or torch_problem(err), fix) from err


def torch_problem(err: BaseException) -> str:
    """What ``torch.load(weights_only=True)``'s error ``err`` says is wrong with a file, in a few words.

    torch's own message runs to a dozen lines and advises ``weights_only=False``, which would run the file's code.
    """
    text = str(err)
    found = _GLOBAL.search(text)
    if isinstance(err, pickle.UnpicklingError) and found:
        return (f"it holds a pickled Python object ({found.group(1)}), which gymsuite does not load: unpickling "
                "runs whatever code the file carries")
    reason = _REASON.search(text)
    if isinstance(err, pickle.UnpicklingError) and reason:  # garbage read as a pickle, or a pickle of other things
        return f"corrupt or truncated, or not plain tensors ({reason.group(1)})"
    return f"corrupt or truncated ({text.splitlines()[0] if text else type(err).__name__})"


def read_table(path: Path, what: str, columns: Mapping[str, Callable[[str], Any]],
               fix: str | None = None) -> list[dict[str, Any]]:
    """The rows of the CSV file ``path``, each value converted by its column's type (``{"step": int}``).

    Raises:
        DamagedFileError: not text, a header without one of ``columns``, or a value its type refuses (the line named).
    """
    try:
        with path.open(newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            missing = [name for name in columns if name not in (reader.fieldnames or [])]
            if missing:
                raise DamagedFileError(path, what, f"its header lacks the column {missing[0]!r}", fix)
            rows = []
            for row in reader:
                try:
                    rows.append({name: convert(row[name]) for name, convert in columns.items()})
                except (TypeError, ValueError) as err:  # TypeError: a short row's missing value (None)
                    raise DamagedFileError(path, what, f"line {reader.line_num} is not a row of "
                                           f"{', '.join(columns)} ({err})", fix) from err
            return rows
    except (UnicodeDecodeError, csv.Error, OSError) as err:
        raise DamagedFileError(path, what, f"corrupt or not a CSV table ({err})", fix) from err


def _missing(path: Path) -> str | None:
    return None if Path(path).is_file() else "it does not exist"
