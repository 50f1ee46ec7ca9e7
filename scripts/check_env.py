#!/usr/bin/env python
"""`scripts/check_env.py ...` is `gymsuite check-env ...` (code: gymsuite/commands/check_env.py)."""

import sys

from gymsuite.commands import _cli, check_env

if __name__ == "__main__":
    sys.exit(_cli.run(check_env.main))
