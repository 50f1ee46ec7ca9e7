#!/usr/bin/env python
"""`scripts/evaluate.py ...` is `gymsuite evaluate ...` (code: gymsuite/commands/evaluate.py)."""

import sys

from gymsuite.commands import _cli, evaluate

if __name__ == "__main__":
    sys.exit(_cli.run(evaluate.main))
