#!/usr/bin/env python
"""`python scripts/pretrain.py ...`: the same command as `gymsuite pretrain ...` (code: gymsuite/pretrain.py)."""

import sys

from gymsuite.commands import _cli, pretrain

if __name__ == "__main__":
    sys.exit(_cli.run(pretrain.main))
