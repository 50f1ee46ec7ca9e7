"""The one exception type for mistakes a user can fix.

Scripts catch :class:`UserError` and print ``message`` (and ``hint``) on stderr
without a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """A problem with the user's input, stated together with its fix.

    Args:
        message: what is wrong, naming the bad input.
        hint: how to fix it (optional, printed on its own line).
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  fix: {self.hint}"


def closest_hint(name: str, choices: Iterable[str], listing: str, n: int = 1) -> str:
    """The fix for an unknown ``name``: up to ``n`` close ``choices`` ("did you mean 'x'?"), else all of them.

    Args:
        name: what the user wrote.
        choices: the valid names, listed in this order when none is close.
        listing: the words before the full list, e.g. ``"valid keys"``.
        n: how many close matches to offer.
    """
    choices = [str(c) for c in choices]
    close = difflib.get_close_matches(str(name), choices, n=n)
    if close:
        return f"did you mean {', '.join(repr(c) for c in close)}?"
    return f"{listing}: {', '.join(choices)}"
