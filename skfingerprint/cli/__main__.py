"""``python -m skfingerprint.cli``."""

import sys

from . import main

sys.exit(main())
