"""Plugin discovery through entry points, loaded lazily by name, with did-you-mean errors."""

from __future__ import annotations

import difflib
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from rmeval.harness.errors import RmevalError

TASK_GROUP = "rmeval.tasks"
MODEL_GROUP = "rmeval.models"


@cache
def _entry_points(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def task_names() -> list[str]:
    """Registered task (and suite) names, without importing them."""
    return sorted(_entry_points(TASK_GROUP))


def model_names() -> list[str]:
    """Registered model adapter types, without importing them."""
    return sorted(_entry_points(MODEL_GROUP))


def _load(group: str, name: str, kind: str) -> Any:
    eps = _entry_points(group)
    if not eps:
        raise RmevalError(
            f"no {kind}s are registered; install rmeval (`pip install -e .`) so its entry points exist."
        )
    if name not in eps:
        close = difflib.get_close_matches(name, eps, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise RmevalError(f"unknown {kind} '{name}'.{hint} Run `rmeval ls` to list them.")
    try:
        return eps[name].load()
    except Exception as exc:
        raise RmevalError(
            f"{kind} plugin '{name}' ({eps[name].value}) failed to import: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def load_tasks(name: str, **params: Any) -> list[Any]:
    """Build the task(s) registered under ``name``; a suite factory returns several."""
    built = _load(TASK_GROUP, name, "task")(**params)
    return list(built) if isinstance(built, (list, tuple)) else [built]


def model_class(type_name: str) -> type:
    """The adapter class registered under ``type_name``."""
    return _load(MODEL_GROUP, type_name, "model type")
