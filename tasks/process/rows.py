"""ProcessBench rows: validation, examples and step requests.

A row has ``id``, ``problem`` (text), ``steps`` (a non-empty list of texts), ``label`` (the
index of the earliest wrong step, or -1 when every step is correct) and optionally
``final_answer_correct`` (bool) and ``subset`` (else ``source``, else the split's name).
"""

from __future__ import annotations

from typing import Any

from rmeval.harness.records import Example, ScoreRequest
from rmeval.harness.steps import STEP_JOIN
from rmeval.tasks.validation import collect_rows, text_problem


def row_problems(row: dict[str, Any]) -> list[str]:
    """Why a row is not a ProcessBench row (empty when it is one)."""
    problems = [f"missing field '{k}'" for k in ("problem", "steps", "label") if k not in row]
    if problems:
        return problems
    if (p := text_problem(row["problem"], "'problem'", allow_empty=False)) is not None:
        problems.append(p)
    steps = row["steps"]
    if not isinstance(steps, list) or not steps:
        kind = "an empty list" if isinstance(steps, list) else type(steps).__name__
        return [*problems, f"field 'steps' is {kind}, not a non-empty list of texts"]
    for j, step in enumerate(steps):
        if (p := text_problem(step, f"'steps[{j}]'", allow_empty=False)) is not None:
            problems.append(p)
    label = row["label"]
    if isinstance(label, bool) or not isinstance(label, int) or not -1 <= label < len(steps):
        problems.append(
            f"field 'label' is {label!r}: give the index of the earliest wrong step "
            f"(0-{len(steps) - 1}) or -1 when every step is correct"
        )
    fac = row.get("final_answer_correct")
    if fac is not None and not isinstance(fac, bool):
        problems.append(f"field 'final_answer_correct' is {fac!r}, not true or false")
    return problems


def process_examples(rows: list[dict[str, Any]], source: str, default_subset: str) -> list[Example]:
    """Validated examples: one candidate (the steps joined), the steps and label in ``meta``."""

    def convert(row: dict[str, Any], rid: str) -> Example | list[str]:
        problems = row_problems(row)
        if problems:
            return problems
        subset = row.get("subset") or row.get("source") or default_subset
        steps = tuple(row["steps"])
        return Example(
            id=rid,
            subset=str(subset),
            prompt=row["problem"],
            candidates=(STEP_JOIN.join(steps),),
            meta={
                "steps": steps,
                "label": int(row["label"]),
                "final_answer_correct": row.get("final_answer_correct"),
            },
        )

    return collect_rows(rows, source=source, convert=convert)


def step_request(example: Example, steps: tuple[str, ...] | None = None) -> ScoreRequest:
    """The step request of an example's solution (or of other ``steps`` for its problem)."""
    steps = example.meta["steps"] if steps is None else steps
    return ScoreRequest(example.prompt, STEP_JOIN.join(steps), steps=tuple(steps))
