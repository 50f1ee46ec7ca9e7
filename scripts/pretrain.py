#!/usr/bin/env python
"""`scripts/pretrain.py ...` is `gymsuite pretrain ...` (code: gymsuite/commands/pretrain.py)."""

import sys

from gymsuite.commands import _cli, pretrain

if __name__ == "__main__":
    sys.exit(_cli.run(pretrain.main))
