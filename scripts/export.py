#!/usr/bin/env python
"""`scripts/export.py ...` is `gymsuite export ...` (code: gymsuite/commands/export.py)."""

import sys

from gymsuite.commands import _cli, export

if __name__ == "__main__":
    sys.exit(_cli.run(export.main))
