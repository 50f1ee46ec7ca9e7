#!/usr/bin/env python
"""`scripts/attack.py ...` is `gymsuite attack ...` (code: gymsuite/commands/attack.py)."""

import sys

from gymsuite.commands import _cli, attack

if __name__ == "__main__":
    sys.exit(_cli.run(attack.main))
