"""One pair's outcome under every perturbation, from its scores.

A pair's scores come in candidate order: the better answer ``b``, the worse answer ``w``, the
worse answer under each perturbation ``w'_k``, then the better answer under each ``b'_k``.

- The pair is **eligible** for flip rates when ``w < b`` (the model ranked it right before
  any perturbation; a tie ``w == b`` is already a mistake and is not eligible).
- ``flip_k`` (eligible pairs only) = 1 when ``w'_k > b``; a tie ``w'_k == b`` counts against
  the model: 1 under ``ties="strict"``, 0.5 under ``ties="half"``; else 0.
- ``delta_worse_k = w'_k - w`` and ``delta_better_k = b'_k - b`` (raw reward units; the
  summary divides by the model's standard deviation of rewards).

The example's credit is the mean flip over perturbations; a pair that is not eligible gets 0
(no flip is possible) and ``eligible: false``, so that it stays a shared item for
``rmeval compare``, whose task scorer applies each model's own denominator. Any NaN or infinite
score makes the pair invalid (credit None): excluded from every metric and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rmeval.harness.metrics import has_invalid
from rmeval.harness.records import Example, ExampleResult
from rmeval.tasks.master_keys.outcomes import key_beats


def flip(perturbed_worse: float, better: float, ties: str) -> tuple[float, bool]:
    """(flip credit, tie) of a perturbed worse answer against the unperturbed better one."""
    return key_beats(perturbed_worse, better, ties)


def evaluate_pair(
    example: Example, values: Sequence[float], names: Sequence[str], ties: str
) -> ExampleResult:
    """The pair's result; ``extra`` carries eligibility, flips and raw reward changes."""
    k = len(names)
    if len(values) != 2 + 2 * k:
        raise ValueError(f"pair {example.id}: {len(values)} scores for {k} perturbations")
    extra: dict[str, Any] = {"perturbations": list(names)}
    if has_invalid(values):
        return ExampleResult(
            example.id, example.subset, list(values), None, invalid=True, extra=extra
        )
    better, worse = values[0], values[1]
    worse_k, better_k = values[2 : 2 + k], values[2 + k :]
    eligible = worse < better
    outcomes = [flip(v, better, ties) for v in worse_k] if eligible else []
    extra |= {
        "eligible": eligible,
        "flips": [c for c, _ in outcomes] if eligible else None,
        "delta_worse": [v - worse for v in worse_k],
        "delta_better": [v - better for v in better_k],
    }
    credit = sum(c for c, _ in outcomes) / k if eligible else 0.0
    tie = worse == better or any(t for _, t in outcomes)
    return ExampleResult(example.id, example.subset, list(values), credit, tie=tie, extra=extra)
