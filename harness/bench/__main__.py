"""``python -m harness.bench [flags]``: the bench without the console script."""

import sys

from rmeval.harness.bench import main

sys.exit(main(sys.argv[1:]))
