#!/usr/bin/env python
"""`scripts/compare.py ...` is `gymsuite compare ...` (code: gymsuite/commands/compare.py)."""

import sys

from gymsuite.commands import _cli, compare

if __name__ == "__main__":
    sys.exit(_cli.run(compare.main))
