#!/usr/bin/env python
"""`scripts/probe.py ...` is `gymsuite probe ...` (code: gymsuite/commands/probe.py)."""

import sys

from gymsuite.commands import _cli, probe

if __name__ == "__main__":
    sys.exit(_cli.run(probe.main))
