#!/usr/bin/env python
"""`python scripts/train.py ...`: the same command as `gymsuite train ...` (code: gymsuite/train.py)."""

import sys

from gymsuite.commands import _cli, train

if __name__ == "__main__":
    sys.exit(_cli.run(train.main))
