"""Step scores: how a solution is cut into steps, how step scores aggregate, and which models
and tasks speak in steps.

A *step request* is a :class:`ScoreRequest` whose ``steps`` hold the solution's reasoning
steps (each a substring of ``response``, in order); a step-scoring model answers it with one
:class:`Score` whose ``steps`` hold one score per step (the vector is the cached value).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rmeval.harness.errors import RmevalError

if TYPE_CHECKING:
    from rmeval.harness.adapters.base import RewardModel
    from rmeval.harness.records import ScoreRequest
    from rmeval.harness.task import Task

STEP_JOIN = "\n\n"
"""How a list of steps is written as one response (ProcessBench's convention)."""


def _product(v: Sequence[float]) -> float:
    return math.prod(v)


AGGREGATIONS: dict[str, Callable[[Sequence[float]], float]] = {
    "min": min,
    "last": lambda v: v[-1],
    "mean": lambda v: sum(v) / len(v),
    "product": _product,
    "sum": sum,
}
"""Solution reward from its step scores, as PRM papers compare them."""


def parse_aggregations(value: Any, flag: str = "--task-args aggregate") -> tuple[str, ...]:
    """``min|last|...`` (one or more names joined by ``|``) as a tuple; unknown names refused."""
    names = tuple(n.strip() for n in str(value).split("|") if n.strip())
    bad = [n for n in names if n not in AGGREGATIONS]
    if not names or bad:
        raise RmevalError(
            f"{flag}={value}: use one or more of {'|'.join(AGGREGATIONS)}, joined by '|'."
        )
    if len(set(names)) != len(names):
        raise RmevalError(f"{flag}={value}: names an aggregation twice; list each once.")
    return names


def aggregate(steps: Sequence[float], how: str) -> float:
    """One solution reward from its step scores (NaN when any step is NaN or there are none)."""
    if not steps or any(not math.isfinite(s) for s in steps):
        return math.nan
    return float(AGGREGATIONS[how](steps))


def split_steps(response: str) -> tuple[str, ...]:
    """A response's steps: its non-empty lines (blank lines separate nothing more)."""
    return tuple(line for line in response.split("\n") if line.strip())


def step_ends(request: ScoreRequest) -> list[int]:
    """Character offset in ``response`` just after each step (steps are found in order)."""
    ends, cursor = [], 0
    for i, step in enumerate(request.steps):
        at = request.response.find(step, cursor)
        if at < 0:
            raise RmevalError(
                f"step {i} of the request for prompt {request.prompt[:40]!r} is not in its "
                f"response after the earlier steps; a step request's steps must be "
                f"substrings of its response, in order."
            )
        cursor = at + len(step)
        ends.append(cursor)
    return ends


def prefixes(request: ScoreRequest) -> list[str]:
    """The response truncated after each step (the outcome-RM-on-prefixes baseline)."""
    return [request.response[:end] for end in step_ends(request)]


def check_step_capability(model: RewardModel, task: Task) -> None:
    """Refuse a step task on a model without step scores, and a scalar task on a model that
    only gives step scores (``Task.check_model`` calls this before anything is scored)."""
    if task.uses_step_scores and not model.scores_steps:
        raise RmevalError(
            f"task '{task.name}' needs one score per step, and model {model.spec} gives "
            f"one per response; use a step-scoring model (prm-token:, prm-tag:, "
            f"prm-implicit:, prm-prefix:, or the length/random baselines)."
        )
    if not task.uses_step_scores and not model.scores_responses:
        hint = (
            " pass --task-args aggregate=min|last|mean|product|sum"
            if "aggregate" in _init_names(task)
            else " run it on a step task (processbench, process-core, prm-hacking)"
        )
        raise RmevalError(
            f"model {model.spec} gives one score per step, and task '{task.name}' needs "
            f"one per response:{hint}."
        )


def _init_names(task: Task) -> set[str]:
    import inspect

    return set(inspect.signature(type(task).__init__).parameters)
