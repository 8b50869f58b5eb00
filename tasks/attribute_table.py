"""``tables.by_attribute``: pairwise accuracy of each attribute of a multi-objective reward
model (ArmoRM-style objectives, multi-label heads), ranked by that attribute alone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rmeval.harness.metrics import mean_ci, pairwise_credit
from rmeval.harness.records import ExampleResult, Score
from rmeval.harness.result_columns import ResultColumns

KEY = "attribute_credit"
"""``ExampleResult.extra`` key of an example's credit per attribute."""


def attribute_credit(scores: Sequence[Score], ties: str) -> dict[str, float] | None:
    """Per attribute: the mean pairwise credit of the chosen response (first) over each
    rejected one; None unless every candidate has the same attributes."""
    names = [tuple(s.attributes) if s.attributes else () for s in scores]
    if not names[0] or any(n != names[0] for n in names):
        return None
    out: dict[str, float] = {}
    for name in names[0]:
        values = [s.attributes[name] for s in scores]  # type: ignore[index]
        outcomes = [pairwise_credit(values[0], r, ties) for r in values[1:]]
        if any(o[2] for o in outcomes):  # an invalid attribute score: left out of its row
            continue
        out[name] = sum(o[0] for o in outcomes) / len(outcomes)  # type: ignore[misc]
    return out


def by_attribute(results: Sequence[ExampleResult] | ResultColumns, seed: int = 0) -> dict[str, Any]:
    """{attribute: {accuracy, ci95, n}} over the examples that have the attribute."""
    credits: dict[str, list[float]] = {}
    kept = (
        results.extras(KEY)
        if isinstance(results, ResultColumns)
        else (r.extra.get(KEY) for r in results)
    )
    for row in kept:
        for name, credit in (row or {}).items():
            credits.setdefault(name, []).append(credit)
    table = {}
    for name, values in credits.items():
        mean = mean_ci(values, seed=seed)
        table[name] = {
            "accuracy": mean.value,
            "ci95": list(mean.ci95) if mean.ci95 else None,
            "n": mean.n,
        }
    return table
