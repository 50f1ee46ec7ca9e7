"""Range checks for user-given numbers, with errors that name the key and the valid range."""

from __future__ import annotations

from typing import Any

from common.errors import UserError


def check_number(key: str, value: Any, kind: type, low: float, inclusive: bool = True, at_most_one: bool = False,
                 owner: str = "") -> None:
    """Raise a :class:`UserError` naming hyperparameter ``key`` unless ``value`` is in range.

    Args:
        key: the hyperparameter's name.
        value: what was given; ``kind=int`` also accepts integral floats (``3e5``).
        kind: ``int`` or ``float``.
        low: the lower bound, included when ``inclusive``.
        at_most_one: also require ``value <= 1``.
        owner: appended to the key in the message, e.g. ``" of bc"``.
    """
    ok_type = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int and ok_type and float(value) != int(value):
        ok_type = False
    bad_range = ok_type and (value < low if inclusive else value <= low)
    if ok_type and at_most_one and value > 1:
        bad_range = True
    if not ok_type or bad_range:
        bound = f"{'>=' if inclusive else '>'} {low:g}" + (" and <= 1" if at_most_one else "")
        raise UserError(f"bad value for hyperparameter {key!r}{owner}: {value!r}",
                        f"{key} must be {'an integer' if kind is int else 'a number'} {bound}")
