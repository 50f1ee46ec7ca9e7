#!/usr/bin/env python
"""`scripts/train.py ...` is `gymsuite train ...` (code: gymsuite/commands/train.py)."""

import sys

from gymsuite.commands import _cli, train

if __name__ == "__main__":
    sys.exit(_cli.run(train.main))
