#!/usr/bin/env python
"""`python scripts/check_env.py ...`: the same command as `gymsuite check-env ...` (code: gymsuite/check_env.py)."""

import sys

from gymsuite.commands import _cli, check_env

if __name__ == "__main__":
    sys.exit(_cli.run(check_env.main))
