#!/usr/bin/env python
"""`python scripts/compare.py ...`: the same command as `gymsuite compare ...` (code: gymsuite/compare.py)."""

import sys

from gymsuite.commands import _cli, compare

if __name__ == "__main__":
    sys.exit(_cli.run(compare.main))
