"""``python -m cb_helper``."""

import sys

from cb_helper.cli import main

sys.exit(main())
