"""rmeval's engine: records, plugins, data, adapters, batching, cache, metrics, results, CLI.

Importing ``harness`` stays light (no torch); adapters import heavy libraries when used.
"""

__version__ = "0.1.0"
