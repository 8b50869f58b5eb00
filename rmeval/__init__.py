"""rmeval: a reward-model evaluation harness.

One import name: the repository's folders ``harness/``, ``tasks/``, ``probes/`` and
``leaderboard/`` install as ``rmeval.harness``, ``rmeval.tasks``, ``rmeval.probes`` and
``rmeval.leaderboard`` (see ``[tool.setuptools]`` in pyproject.toml). Importing ``rmeval``
stays light: no torch, transformers or datasets.
"""

__version__ = "0.1.0"
