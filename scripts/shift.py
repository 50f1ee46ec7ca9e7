#!/usr/bin/env python
"""`scripts/shift.py ...` is `gymsuite shift ...` (code: gymsuite/commands/shift.py)."""

import sys

from gymsuite.commands import _cli, shift

if __name__ == "__main__":
    sys.exit(_cli.run(shift.main))
