"""Best-of-n with a process reward model: ``--task-args aggregate=min|last|mean|product|sum``.

Each candidate is cut into steps (its non-empty lines, :func:`rmeval.harness.steps.split_steps`)
and scored step by step; each named aggregation turns a candidate's step scores into one
reward, and the example's best-of-n credit is computed per aggregation. The first aggregation
named is the main score (``accuracy``); every one is reported as ``accuracy_<aggregation>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rmeval.harness.errors import RmevalError
from rmeval.harness.metrics import best_of_n_credit, mean_ci
from rmeval.harness.records import Aggregate, Example, ExampleResult, Score, ScoreRequest
from rmeval.harness.steps import aggregate, split_steps


def step_requests(example: Example) -> list[ScoreRequest]:
    """One step request per candidate, in data order."""
    out = []
    for c in example.candidates:
        steps = split_steps(c)
        if not steps:
            raise RmevalError(f"example {example.id}: a candidate has no step (no text line).")
        out.append(ScoreRequest(example.prompt, c, example.reference, example.context, steps))
    return out


def evaluate(
    example: Example, scores: Sequence[Score], aggregations: Sequence[str]
) -> ExampleResult:
    """Best-of-n credit under each aggregation; the first one is the example's credit."""
    per: dict[str, dict[str, Any]] = {}
    for how in aggregations:
        values = []
        for s in scores:
            if s.steps is None:
                raise RmevalError(
                    f"example {example.id}: the model returned no step scores; "
                    f"aggregate= needs a step-scoring model."
                )
            values.append(aggregate(s.steps, how))
        credit, tie, invalid = best_of_n_credit(values)
        per[how] = {"scores": values, "credit": credit, "tie": tie, "invalid": invalid}
    main = per[aggregations[0]]
    invalid = any(p["invalid"] for p in per.values())
    return ExampleResult(
        example.id,
        example.subset,
        main["scores"],
        None if invalid else main["credit"],
        tie=main["tie"],
        invalid=invalid,
        extra={
            "step_scores": [list(s.steps or ()) for s in scores],
            "by_aggregation": {
                k: {"scores": v["scores"], "credit": v["credit"]} for k, v in per.items()
            },
        },
    )


def add_metrics(
    agg: Aggregate, results: Sequence[ExampleResult], aggregations: Sequence[str], seed: int
) -> Aggregate:
    """``accuracy_<aggregation>`` for each aggregation (over the examples valid under all)."""
    valid = [r for r in results if not r.invalid]
    for how in aggregations:
        credits = [r.extra["by_aggregation"][how]["credit"] for r in valid]
        agg.metrics[f"accuracy_{how}"] = mean_ci(credits, seed=seed)
    return agg
