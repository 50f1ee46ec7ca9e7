#!/usr/bin/env python
"""`scripts/meta.py ...` is `gymsuite meta ...` (code: gymsuite/commands/meta.py)."""

import sys

from gymsuite.commands import _cli, meta

if __name__ == "__main__":
    sys.exit(_cli.run(meta.main))
