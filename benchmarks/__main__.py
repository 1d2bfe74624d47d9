"""``python -m benchmarks``: see benchmarks/README.md and ``--help``."""

import sys

from .runner import main

sys.exit(main())
