#!/usr/bin/env python
"""`python scripts/record_video.py ...`: the same command as `gymsuite record ...` (code: gymsuite/record.py)."""

import sys

from gymsuite.commands import _cli, record

if __name__ == "__main__":
    sys.exit(_cli.run(record.main))
