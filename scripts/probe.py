#!/usr/bin/env python
"""`python scripts/probe.py ...`: the same command as `gymsuite probe ...` (code: gymsuite/probe.py)."""

import sys

from gymsuite.commands import _cli, probe

if __name__ == "__main__":
    sys.exit(_cli.run(probe.main))
