"""Paired statistics for ``rmeval compare``: exact sign test, agreement, paired bootstrap CIs.

``ItemScorer`` is what a task's ``scorer(results)`` hook may return: the task's own formula on
any multiset of its items, so a comparison resamples items and keeps the task's numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from rmeval.harness.metrics import N_BOOT
from rmeval.harness.records import ExampleResult


@dataclass
class ItemScorer:
    """A task's metrics recomputed by the task's own formula on a multiset of its items.

    ``formula(idx)`` takes the item indices of a bootstrap resample (with repeats), or None for
    the items as given, where it must return exactly the values of the task's result file.
    Offers the interface ``compare`` uses of ``tasks.scorers.UnitScorer``.
    """

    n_units: int
    formula: Callable[[np.ndarray | None], dict[str, float | None]]
    sign_test: ClassVar[bool] = False
    """The metrics are not means of per-item credits: compare reports the bootstrap p-value."""

    @property
    def units(self) -> np.ndarray:
        """One resampling unit per item."""
        return np.arange(self.n_units)

    def point(self) -> dict[str, float | None]:
        """Metric values on the items as given."""
        return self.formula(None)

    def resampled(self, idx: np.ndarray) -> dict[str, float | None]:
        """Metric values on a bootstrap resample of item indices."""
        return self.formula(idx)


def sign_test_p(n_better: int, n_worse: int) -> float:
    """Exact two-sided sign test p-value: 2·P(X ≤ min) for X ~ Binomial(n_better + n_worse, 1/2)."""
    n = n_better + n_worse
    if n == 0:
        return 1.0
    logs = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2)
        for i in range(min(n_better, n_worse) + 1)
    ]
    top = max(logs)
    return min(1.0, 2.0 * math.exp(top) * sum(math.exp(v - top) for v in logs))


def top_set(scores: Sequence[float]) -> frozenset[int]:
    """Indices of the candidates that share the maximum score."""
    best = max(scores)
    return frozenset(i for i, s in enumerate(scores) if s == best)


def agreement(a: Sequence[ExampleResult], b: Sequence[ExampleResult]) -> float | None:
    """Fraction of items whose preferred candidate set (argmax, ties kept) is the same."""
    same = [
        top_set(x.scores) == top_set(y.scores)
        for x, y in zip(a, b, strict=True)
        if x.scores
        and len(x.scores) == len(y.scores)
        and all(map(math.isfinite, x.scores + y.scores))
    ]
    return float(np.mean(same)) if same else None


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def paired_cis(sa: Any, sb: Any, keys: Sequence[str], seed: int) -> dict[str, dict | None]:
    """Percentile 95% CI of B - A and a bootstrap p-value for each metric in ``keys``, from one
    paired bootstrap for all (``{"ci95": [lo, hi], "p_value": p}``, None without items).

    The resamples are those of ``harness.metrics.bootstrap_ci`` with the same seed; each is
    scored once per run (a task formula gives every metric at once). The p-value is two-sided:
    twice the share of resampled differences on the far side of 0 (that share counted as at
    least one resample, so no p-value is below 2 / resamples).
    """
    if sa.n_units == 0:
        return dict.fromkeys(keys)
    rng = np.random.default_rng(seed)
    diffs = np.empty((N_BOOT, len(keys)))
    for t in range(N_BOOT):
        idx = rng.integers(0, sa.n_units, sa.n_units)
        va, vb = sa.resampled(idx), sb.resampled(idx)
        diffs[t] = [_nan(vb.get(k)) - _nan(va.get(k)) for k in keys]
    out: dict[str, dict | None] = {}
    for k, col in zip(keys, diffs.T, strict=True):
        col = col[np.isfinite(col)]
        out[k] = (
            {"ci95": [float(v) for v in np.percentile(col, [2.5, 97.5])], "p_value": _boot_p(col)}
            if col.size
            else None
        )
    return out


def _boot_p(diffs: np.ndarray) -> float:
    """Two-sided bootstrap p-value of "B - A = 0" from resampled differences."""
    far = min(float(np.mean(diffs <= 0)), float(np.mean(diffs >= 0)))
    return min(1.0, 2.0 * max(far, 1.0 / diffs.size))
