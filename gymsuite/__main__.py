"""``python -m gymsuite COMMAND ...``: the same as the ``gymsuite`` command."""

import sys

from gymsuite.commands.cli import main

sys.exit(main())
