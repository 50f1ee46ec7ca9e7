#!/usr/bin/env python
"""`python scripts/plot.py ...`: the same command as `gymsuite plot ...` (code: gymsuite/plot.py)."""

import sys

from gymsuite.commands import _cli, plot

if __name__ == "__main__":
    sys.exit(_cli.run(plot.main))
