"""What every command shares: error reporting and exit codes.

A :class:`common.errors.UserError` becomes one message on stderr and exit code 2;
``--debug`` shows the traceback instead. Ctrl-C exits with 130; ``gymsuite train`` saves the run
first and exits with 128 + the signal (130 for Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import argparse
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


def parser(command: str, doc: str | None) -> argparse.ArgumentParser:
    """The argument parser of ``gymsuite COMMAND``, with the command module's docstring as its description."""
    return argparse.ArgumentParser(prog=f"gymsuite {command}", description=doc,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def add_agent(p: argparse.ArgumentParser, target_help: str, env_help: str) -> None:
    """The arguments that name a saved agent: ``TARGET``, ``--env``, ``--algo``."""
    p.add_argument("target", help=target_help)
    p.add_argument("--env", help=env_help)
    p.add_argument("--algo", help="algorithm, for a model .zip whose file does not tell it (an A2C zip)")
