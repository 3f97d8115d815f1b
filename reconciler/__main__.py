"""`python -m reconciler`: the same entry point as the console script."""

import sys

from reconciler.cli import main

sys.exit(main())
