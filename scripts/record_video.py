#!/usr/bin/env python
"""`scripts/record_video.py ...` is `gymsuite record ...` (code: gymsuite/commands/record.py)."""

import sys

from gymsuite.commands import _cli, record

if __name__ == "__main__":
    sys.exit(_cli.run(record.main))
