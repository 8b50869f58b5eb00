"""rmeval's engine: records, plugins, data, adapters, batching, cache, metrics, results, CLI.

Importing ``rmeval.harness`` stays light (no torch); adapters import heavy libraries when used.
"""

from rmeval import __version__

__all__ = ["__version__"]
