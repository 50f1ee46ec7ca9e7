#!/usr/bin/env python
"""`scripts/plot.py ...` is `gymsuite plot ...` (code: gymsuite/commands/plot.py)."""

import sys

from gymsuite.commands import _cli, plot

if __name__ == "__main__":
    sys.exit(_cli.run(plot.main))
