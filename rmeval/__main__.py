"""``python -m rmeval ...``: the ``rmeval`` command, independent of the current folder."""

import sys

from rmeval.harness.cli import main

sys.exit(main())
