#!/usr/bin/env python
"""`scripts/sweep.py ...` is `gymsuite sweep ...` (code: gymsuite/commands/sweep.py)."""

import sys

from gymsuite.commands import _cli, sweep

if __name__ == "__main__":
    sys.exit(_cli.run(sweep.main))
