"""Switch off ``torch.distributions``' argument checks for a block of code, for speed.

Each distribution checks its parameters when it is built, and each ``log_prob`` checks its value, unless
told not to. SB3 builds one distribution per forward pass, so a small policy pays the checks on every
step of a rollout, every evaluation step and every gradient step: on CartPole they are about 15% of A2C's
training time on one CPU thread, and on a GPU each check ends in a host-device sync (``bool(valid.all())``).

:func:`unchecked` turns them off for the classes named, and puts back whatever was set before on exit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch as th

_UNSET = object()


@contextlib.contextmanager
def unchecked(*classes: type[th.distributions.Distribution]) -> Iterator[None]:
    """Build each of ``classes`` (every distribution with ``Distribution`` itself) without argument checks."""
    saved = [(cls, cls.__dict__.get("_validate_args", _UNSET)) for cls in classes]
    for cls in classes:
        cls._validate_args = False
    try:
        yield
    finally:
        for cls, value in reversed(saved):
            if value is _UNSET:
                del cls._validate_args
            else:
                cls._validate_args = value
