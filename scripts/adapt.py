#!/usr/bin/env python
"""`scripts/adapt.py ...` is `gymsuite adapt ...` (code: gymsuite/commands/adapt.py)."""

import sys

from gymsuite.commands import _cli, adapt

if __name__ == "__main__":
    sys.exit(_cli.run(adapt.main))
