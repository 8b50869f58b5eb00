"""Plugin discovery through entry points, loaded lazily by name, with did-you-mean errors."""

from __future__ import annotations

import difflib
import importlib.util
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from rmeval.harness.errors import RmevalError

TASK_GROUP = "rmeval.tasks"
MODEL_GROUP = "rmeval.models"


@cache
def _entry_points(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


_INCLUDED: dict[str, Any] = {}
"""Task factories registered for this process by :func:`include` (``--include PATH.py``)."""


def include(path: str | Path) -> list[str]:
    """Import the Python file ``path`` and register its module-level ``TASKS`` (a dict of task
    name -> factory, e.g. a Task subclass) for this run; return the names it added."""
    file = Path(path).expanduser()
    if file.suffix != ".py" or not file.is_file():
        raise RmevalError(f"--include {path}: not a Python file; give the path of a .py file.")
    spec = importlib.util.spec_from_file_location(f"rmeval_include_{file.stem}", file)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except Exception as exc:
        raise RmevalError(
            f"--include {path}: failed to import: {type(exc).__name__}: {exc}"
        ) from exc
    tasks = getattr(module, "TASKS", None)
    if not isinstance(tasks, dict) or not all(
        isinstance(k, str) and callable(v) for k, v in tasks.items()
    ):
        raise RmevalError(
            f"--include {path}: define TASKS = {{'name': factory}} at module level (a dict of "
            f"task names to Task subclasses or functions that return tasks)."
        )
    taken = sorted(set(tasks) & (set(_entry_points(TASK_GROUP)) | set(_INCLUDED)))
    if taken:
        raise RmevalError(
            f"--include {path}: task {taken[0]!r} is already registered; give it another name."
        )
    _INCLUDED.update(tasks)
    return sorted(tasks)


@contextmanager
def included(paths: Sequence[str | Path]) -> Iterator[None]:
    """The tasks of ``paths`` (see :func:`include`) registered only inside the block."""
    before = dict(_INCLUDED)
    try:
        for path in paths:
            include(path)
        yield
    finally:
        _INCLUDED.clear()
        _INCLUDED.update(before)


def task_names() -> list[str]:
    """Registered task (and suite) names, without importing them."""
    return sorted([*_entry_points(TASK_GROUP), *_INCLUDED])


def model_names() -> list[str]:
    """Registered model adapter types, without importing them."""
    return sorted(_entry_points(MODEL_GROUP))


def _load(group: str, name: str, kind: str) -> Any:
    eps = _entry_points(group)
    known = [*eps, *_INCLUDED] if group == TASK_GROUP else list(eps)
    if not eps:
        raise RmevalError(
            f"no {kind}s are registered; install rmeval (`pip install -e .`) so its entry points exist."
        )
    if name not in eps:
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
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
    factory = _INCLUDED.get(name) or _load(TASK_GROUP, name, "task")
    built = factory(**params)
    return list(built) if isinstance(built, (list, tuple)) else [built]


def model_class(type_name: str) -> type:
    """The adapter class registered under ``type_name``."""
    return _load(MODEL_GROUP, type_name, "model type")
