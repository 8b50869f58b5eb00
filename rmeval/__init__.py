"""rmeval: a reward-model evaluation harness.

One import name: the repository's folders ``harness/``, ``tasks/``, ``probes/`` and
``leaderboard/`` install as ``rmeval.harness``, ``rmeval.tasks``, ``rmeval.probes`` and
``rmeval.leaderboard`` (see ``[tool.setuptools]`` in pyproject.toml). Importing ``rmeval``
stays light (no torch, transformers or datasets): the public names below are imported on
first use.

Public API: :func:`evaluate`, :func:`load_results`, :func:`load_samples`, the TRL callback
:class:`RewardEvalCallback`, and the types a plugin author needs (:class:`Task`,
:class:`RewardModel`, :class:`Example`, :class:`ScoreRequest`, :class:`Score`,
:class:`ExampleResult`, :class:`Aggregate`, :class:`Result`, and for a task that streams
:class:`RowCheck` and :class:`ResultColumns`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "evaluate": "rmeval.harness.api",
    "load_results": "rmeval.harness.api",
    "load_samples": "rmeval.harness.api",
    "RewardEvalCallback": "rmeval.trl_callback",
    "Task": "rmeval.harness.task",
    "RewardModel": "rmeval.harness.adapters.base",
    "Example": "rmeval.harness.records",
    "ScoreRequest": "rmeval.harness.records",
    "Score": "rmeval.harness.records",
    "ExampleResult": "rmeval.harness.records",
    "Aggregate": "rmeval.harness.records",
    "Result": "rmeval.harness.result",
    "RowCheck": "rmeval.harness.row_check",
    "ResultColumns": "rmeval.harness.result_columns",
}
"""Public name -> the module that defines it (imported when the name is first used)."""

__all__ = [
    "__version__",
    "evaluate",
    "load_results",
    "load_samples",
    "RewardEvalCallback",
    "Task",
    "RewardModel",
    "Example",
    "ScoreRequest",
    "Score",
    "ExampleResult",
    "Aggregate",
    "Result",
    "RowCheck",
    "ResultColumns",
]

if TYPE_CHECKING:
    from rmeval.harness.adapters.base import RewardModel
    from rmeval.harness.api import evaluate, load_results, load_samples
    from rmeval.harness.records import Aggregate, Example, ExampleResult, Score, ScoreRequest
    from rmeval.harness.result import Result
    from rmeval.harness.result_columns import ResultColumns
    from rmeval.harness.row_check import RowCheck
    from rmeval.harness.task import Task
    from rmeval.trl_callback import RewardEvalCallback


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rmeval' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
