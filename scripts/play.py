#!/usr/bin/env python
"""`python scripts/play.py ...`: the same command as `gymsuite play ...` (code: gymsuite/play.py)."""

import sys

from gymsuite.commands import _cli, play

if __name__ == "__main__":
    sys.exit(_cli.run(play.main))
