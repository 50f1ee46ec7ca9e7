#!/usr/bin/env python
"""`scripts/tune.py ...` is `gymsuite tune ...` (code: gymsuite/commands/tune.py)."""

import sys

from gymsuite.commands import _cli, tune

if __name__ == "__main__":
    sys.exit(_cli.run(tune.main))
