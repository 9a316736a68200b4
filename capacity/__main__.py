"""``python -m capacity``: the command line (same as the ``capacity`` command)."""

from __future__ import annotations

import sys

from capacity.cli import main

if __name__ == "__main__":
    sys.exit(main())
