"""``python -m rmeval ...``: the ``rmeval`` command, independent of the current folder."""

import sys

from rmeval.cli import main

sys.exit(main())
