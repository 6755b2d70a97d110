"""``python -m console.cli``: the same as the ``squall`` console script."""

import sys

from . import main

sys.exit(main())
