"""Scoring helpers shared by the reference-scored tasks (rewardbench, rewardbench2, rmbench):
a task's metrics from weights per resampling unit, with bootstrap CIs from the same formula."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from rmeval.harness.metrics import bootstrap_ci
from rmeval.harness.records import ExampleResult, MetricValue


@dataclass
class UnitScorer:
    """A task's metric values recomputed from one weight (multiplicity) per resampling unit.

    ``units[i]`` is the unit of the i-th valid result the scorer was built from (an example, or
    for RewardBench 2 Ties a prompt id); ``values(w)`` gives every metric from unit weights, so
    a bootstrap resample, a paired comparison and the point estimate share one formula.
    """

    units: np.ndarray
    n_units: int
    values: Callable[[np.ndarray], dict[str, float | None]]
    sign_test: ClassVar[bool] = True
    """The metrics are weighted means of per-example credits: compare's sign test applies."""

    def point(self) -> dict[str, float | None]:
        """Metric values on the data as given (every unit weight 1)."""
        return self.values(np.ones(self.n_units))

    def resampled(self, idx: np.ndarray) -> dict[str, float | None]:
        """Metric values on a bootstrap resample given as unit indices (with repeats)."""
        return self.values(np.bincount(idx, minlength=self.n_units).astype(float))


def scorer_metrics(
    scorer: UnitScorer, sizes: Mapping[str, int], seed: int
) -> dict[str, MetricValue]:
    """Value and bootstrap 95% CI (resampling units) of each metric named in ``sizes``."""
    point = scorer.point()
    out: dict[str, MetricValue] = {}
    for key, n in sizes.items():
        value = point.get(key)
        ci = None
        if value is not None:
            ci = bootstrap_ci(
                scorer.n_units,
                lambda idx, k=key: nan_if_none(scorer.resampled(idx).get(k)),
                seed=seed,
            )
        out[key] = MetricValue(value, ci, n)
    return out


def nan_if_none(value: float | None) -> float:
    """None (metric undefined on this resample) as NaN, which the bootstrap drops."""
    return float("nan") if value is None else float(value)


def valid_results(results: Sequence[ExampleResult]) -> list[ExampleResult]:
    """Results that count (invalid ones carry credit None and are excluded, already counted)."""
    return [r for r in results if r.credit is not None]
