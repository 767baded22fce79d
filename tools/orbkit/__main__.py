"""``python -m tools.orbkit``: pack, bundle, check."""

from __future__ import annotations

import sys

from tools.orbkit.cli import main

if __name__ == "__main__":
    sys.exit(main())
