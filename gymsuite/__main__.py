"""``python -m gymsuite COMMAND ...``: the same as the ``gymsuite`` command."""

import sys

from gymsuite.cli import main

sys.exit(main())
