#!/usr/bin/env python
"""`scripts/continual.py ...` is `gymsuite continual ...` (code: gymsuite/commands/continual.py)."""

import sys

from gymsuite.commands import _cli, continual

if __name__ == "__main__":
    sys.exit(_cli.run(continual.main))
