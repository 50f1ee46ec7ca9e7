#!/usr/bin/env python
"""`python scripts/collect_demos.py` is `gymsuite collect-demos` (the code: gymsuite/collect_demos.py)."""

import sys

from gymsuite.commands import _cli, collect_demos

if __name__ == "__main__":
    sys.exit(_cli.run(collect_demos.main))
