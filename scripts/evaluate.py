#!/usr/bin/env python
"""`python scripts/evaluate.py ...`: the same command as `gymsuite evaluate ...` (code: gymsuite/evaluate.py)."""

import sys

from gymsuite.commands import _cli, evaluate

if __name__ == "__main__":
    sys.exit(_cli.run(evaluate.main))
