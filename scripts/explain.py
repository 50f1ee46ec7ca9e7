#!/usr/bin/env python
"""`scripts/explain.py ...` is `gymsuite explain ...` (code: gymsuite/commands/explain.py)."""

import sys

from gymsuite.commands import _cli, explain

if __name__ == "__main__":
    sys.exit(_cli.run(explain.main))
