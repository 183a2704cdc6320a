"""``python -m vrelab.lakeserver.samples``."""

import sys

from .cli import main

sys.exit(main())
