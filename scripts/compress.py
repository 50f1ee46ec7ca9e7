#!/usr/bin/env python
"""`scripts/compress.py ...` is `gymsuite compress ...` (code: gymsuite/commands/compress.py)."""

import sys

from gymsuite.commands import _cli, compress

if __name__ == "__main__":
    sys.exit(_cli.run(compress.main))
