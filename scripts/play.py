#!/usr/bin/env python
"""`scripts/play.py ...` is `gymsuite play ...` (code: gymsuite/commands/play.py)."""

import sys

from gymsuite.commands import _cli, play

if __name__ == "__main__":
    sys.exit(_cli.run(play.main))
