#!/usr/bin/env python
"""`python scripts/tune.py ...`: the same command as `gymsuite tune ...` (code: gymsuite/tune.py)."""

import sys

from gymsuite.commands import _cli, tune

if __name__ == "__main__":
    sys.exit(_cli.run(tune.main))
