import sys

from tools.soak.cli import main

sys.exit(main())
