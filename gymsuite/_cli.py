"""What every script shares: the import path, error reporting and exit codes.

A :class:`common.errors.UserError` becomes one message on stderr and exit code 2;
``--debug`` shows the traceback instead. Ctrl-C exits with 130.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from common.errors import UserError


def run(main: Callable[[list[str]], int], argv: list[str] | None = None) -> int:
    """Call ``main(argv)`` and turn user errors into a message and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        return main([a for a in args if a != "--debug"])
    except UserError as err:
        if debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
