#!/usr/bin/env python
"""`python scripts/sweep.py ...`: the same command as `gymsuite sweep ...` (code: gymsuite/sweep.py)."""

import sys

from gymsuite.commands import _cli, sweep

if __name__ == "__main__":
    sys.exit(_cli.run(sweep.main))
