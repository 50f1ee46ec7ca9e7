"""What every command shares: error reporting and exit codes.

A :class:`gymsuite.common.errors.UserError` becomes one message on stderr and exit code 2;
``--debug`` shows the traceback instead. Ctrl-C exits with 130; ``gymsuite train`` saves the run
first and exits with 128 + the signal (130 for Ctrl-C, 143 for SIGTERM). gymsuite's own warnings
(an evaluation episode cut by the step cap) are one ``warning: ...`` line each.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from gymsuite.common.errors import UserError
from gymsuite.common.signals import Stopped


def run(main: Callable[[list[str]], int], argv: list[str] | None = None) -> int:
    """Call ``main(argv)`` and turn user errors into a message and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return main([a for a in args if a != "--debug"])
    except UserError as err:
        if debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Stopped as stop:  # a resumable command (continual, meta): its state is saved
        print(f"\ninterrupted ({signal.Signals(stop.signum).name}): {stop}\ncontinue with the same command",
              file=sys.stderr)
        return 128 + stop.signum
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`gymsuite --help | head`): no traceback, as with any Unix tool
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's own flush at exit would fail too
        return 141  # 128 + SIGPIPE, what a shell reports for a killed writer


# gymsuite's folder as Python imports it: its packages are links to folders beside it in a checkout, so a module's
# path is compared unresolved (gymsuite/agents/..., not agents/...).
_PACKAGE = Path(__file__).absolute().parent.parent
_show_default = warnings.showwarning


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: TextIO | None = None, line: str | None = None) -> None:
    """gymsuite's own user warnings as ``warning: MESSAGE``; other libraries' in Python's format."""
    if issubclass(category, UserWarning) and Path(filename).absolute().is_relative_to(_PACKAGE):
        print(f"warning: {message}", file=file or sys.stderr)
    else:
        _show_default(message, category, filename, lineno, file, line)


def parser(command: str, doc: str | None) -> argparse.ArgumentParser:
    """The argument parser of ``gymsuite COMMAND``, with the command module's docstring as its description."""
    return argparse.ArgumentParser(prog=f"gymsuite {command}", description=doc,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def add_agent(p: argparse.ArgumentParser, target_help: str, env_help: str) -> None:
    """The arguments that name a saved agent: ``TARGET``, ``--env``, ``--algo``."""
    p.add_argument("target", help=target_help)
    p.add_argument("--env", help=env_help)
    p.add_argument("--algo", help="algorithm, for a model .zip whose file does not tell it (an A2C zip)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: the agent acts on a few observations at a time, where more "
                        "threads only add overhead: 6,000 tic-tac-toe games took 3.8 s with one, 190 s with the "
                        "default on a busy 2-core machine)")
    add_trust_pickle(p)


def parse_agent_args(p: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse the arguments of a command built with :func:`add_agent` and use its ``--threads``."""
    import torch

    args = p.parse_args(argv)
    check_positive("--threads", args.threads)
    torch.set_num_threads(args.threads)
    return args


def add_trust_pickle(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--trust-pickle``: the one opt-in to loaders that unpickle (see README "What gymsuite trusts")."""
    p.add_argument("--trust-pickle", action="store_true",
                   help="also load model zips and .pkl files by unpickling them (SB3's own load, pickled "
                        "VecNormalize statistics and replay buffers), which runs any code the file carries: only for "
                        "files you trust, such as runs of older gymsuite versions and models saved by other tools")


def check_positive(flag: str, value: int | None) -> None:
    """Raise a :class:`UserError` when an optional count flag was given a value below 1."""
    if value is not None and value < 1:
        raise UserError(f"{flag} must be at least 1, got {value}", f"leave {flag} out for the default")
