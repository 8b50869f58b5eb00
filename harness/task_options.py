"""Tasks as a run configures them: suites expanded, ``--data``, ``--limit`` and ``--task-args``
applied (``NAME=VALUE`` flags parsed), and each ``--task-args`` key recorded only by the tasks
that take it."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rmeval.harness.errors import RmevalError
from rmeval.harness.plugins import load_tasks
from rmeval.harness.task import Task

if TYPE_CHECKING:
    from rmeval.harness.runner import RunOptions


def build_tasks(names: Sequence[str], opts: RunOptions) -> list[Task]:
    """Tasks (suites expanded) with ``--data``, ``--limit`` and ``--task-args`` applied."""
    unknown_data = set(opts.data) - set(names)
    tasks: list[Task] = []
    for name in names:
        params: dict[str, Any] = dict(opts.task_args)
        if name in opts.data:
            params["data"] = opts.data[name]
        if opts.limit is not None:
            params["limit"] = opts.limit
        tasks.extend(load_tasks(name, **params))
    for t in tasks:
        unknown_data.discard(t.name)
    if unknown_data:
        raise RmevalError(
            f"--data names task(s) not in --tasks: {', '.join(sorted(unknown_data))}; "
            f"write --data TASK=PATH with a task you run."
        )
    names_seen = [t.name for t in tasks]
    if len(set(names_seen)) != len(names_seen):
        raise RmevalError(f"--tasks lists a task twice ({', '.join(names_seen)}); list each once.")
    _apply_task_args(opts.task_args, tasks)
    return tasks


def _accepted_options(task_class: type) -> set[str]:
    """The ``--task-args`` keys a task class names in its constructors (``--data`` and
    ``--limit`` excluded: they have their own flags)."""

    accepted: set[str] = set()
    for cls in task_class.__mro__:
        init = cls.__dict__.get("__init__")
        if init is not None and cls is not object:
            params = inspect.signature(init).parameters.values()
            accepted |= {
                p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            }
    return accepted - {"self", "data", "limit"}


def _apply_task_args(task_args: dict[str, Any], tasks: Sequence[Task]) -> None:
    """Refuse a ``--task-args`` key that no task accepts (a typo would otherwise be ignored),
    and take each key out of the tasks that do not name it: the arguments go to every task,
    but a task records only those it applies."""
    accepted: set[str] = set()
    for task in tasks:
        own = _accepted_options(type(task))
        accepted |= own
        for key in set(task_args) - own:
            task.params.pop(key, None)
            task.options.pop(key, None)
    unknown = sorted(set(task_args) - accepted)
    if unknown:
        raise RmevalError(
            f"--task-args {', '.join(unknown)}: not an option of "
            f"{', '.join(t.name for t in tasks)}; their options: {', '.join(sorted(accepted))}."
        )


def parse_assignments(items: Sequence[str] | None, flag: str) -> dict[str, str]:
    """``NAME=VALUE`` pairs (repeatable or comma-separated) into a dict."""
    out: dict[str, str] = {}
    for item in items or []:
        for part in item.split(",") if flag != "--data" else [item]:
            if "=" not in part:
                raise RmevalError(
                    f"{flag} {part}: write NAME=VALUE, e.g. {flag} pairwise=./prefs.jsonl."
                )
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out
