"""The one exception type for mistakes a user can fix.

Scripts catch :class:`UserError` and print ``message`` (and ``hint``) on stderr
without a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


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
