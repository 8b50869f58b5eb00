"""Pure metric functions: per-example credit rules, bootstrap CIs, aggregation."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
from rmeval.harness import resampling
from rmeval.harness.records import Aggregate, ExampleResult, MetricValue
from rmeval.harness.result_columns import ResultColumns, as_columns

TiePolicy = Literal["strict", "half"]
N_BOOT = 1000
CHUNK_ELEMENTS = 1 << 16
"""Indices drawn at once by :func:`resampled_means` (512 KiB of int64, so that the draw and its
gather stay in the CPU cache): with one resample's gathered values, this bounds its memory."""


def has_invalid(scores: Sequence[float]) -> bool:
    """True when any score is NaN or infinite."""
    return not all(map(math.isfinite, scores))


def pairwise_credit(
    chosen: float, rejected: float, ties: TiePolicy = "strict"
) -> tuple[float | None, bool, bool]:
    """Credit of one preference pair as (credit, tie, invalid).

    1 if chosen > rejected, 0 if lower; a tie gives 0 under ``strict`` and 0.5 under ``half``.
    A NaN/inf score makes the pair invalid: credit None, excluded from the metric and counted.
    """
    if not (math.isfinite(chosen) and math.isfinite(rejected)):
        return None, False, True
    if chosen == rejected:
        return (0.5 if ties == "half" else 0.0), True, False
    return (1.0 if chosen > rejected else 0.0), False, False


def best_of_n_credit(scores: Sequence[float]) -> tuple[float | None, bool, bool]:
    """Credit of a best-of-n item whose first score is the chosen one: (credit, tie, invalid).

    1/k when the chosen response ties k-ways at the top (k = 1 means a clean win), else 0.
    """
    if has_invalid(scores):
        return None, False, True
    top = max(scores)
    if scores[0] != top:
        return 0.0, False, False
    if isinstance(scores, list | tuple):
        k = scores.count(top)  # == on each, as below (NaN, the one "x is y but x != y", is out)
    else:
        k = sum(1 for s in scores if s == top)
    return 1.0 / k, k > 1, False


def bootstrap_ci(
    n: int,
    statistic: Callable[[np.ndarray], float],
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile 95% CI of ``statistic(indices)`` over ``n_boot`` resamples of range(n).

    ``statistic`` receives an index array (with repeats) into the caller's own data, so the
    same routine serves plain means, weighted section scores and paired differences.
    """
    if n == 0:
        return None
    rng = np.random.default_rng(seed)
    stats = np.array([statistic(rng.integers(0, n, n)) for _ in range(n_boot)], dtype=float)
    stats = stats[np.isfinite(stats)]
    if stats.size == 0:
        return None
    lo, hi = np.percentile(stats, [2.5, 97.5])
    return float(lo), float(hi)


def resampled_means(
    arr: np.ndarray, *, n_boot: int = N_BOOT, seed: int = 0, chunk_elements: int | None = None
) -> np.ndarray:
    """The ``n_boot`` bootstrap means of ``arr``, drawn a few resamples (or part of one) at a
    time.

    The resamples are the rows of ``rng.integers(0, n, (n_boot, n))`` for ``default_rng(seed)``,
    drawn in pieces of at most ``chunk_elements`` indices (default :data:`CHUNK_ELEMENTS`): the
    generator's stream does not depend on how it is cut, so the means equal those of one
    ``n_boot x n`` draw bit for bit, in memory bounded by ``n`` (see
    :mod:`rmeval.harness.resampling` for how a 1-D float64 array is summed fast and exactly).
    """
    arr = np.asarray(arr)
    n = arr.size
    chunk = max(1, chunk_elements or CHUNK_ELEMENTS)
    if n > 0 and arr.ndim == 1 and arr.dtype == np.float64:
        return resampling.resampled_means(arr, n_boot, seed, chunk)
    rng = np.random.default_rng(seed)  # other dtypes: numpy's own mean (it casts in buffers)
    rows = max(1, chunk // max(n, 1))
    boots = np.empty(n_boot, dtype=float)
    for lo in range(0, n_boot, rows):
        k = min(rows, n_boot - lo)
        boots[lo : lo + k] = arr[rng.integers(0, n, (k, n))].mean(axis=1)
    return boots


def mean_ci(values: Sequence[float], *, n_boot: int = N_BOOT, seed: int = 0) -> MetricValue:
    """Mean with a bootstrap 95% CI (resampled in chunks); None value for an empty input."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return MetricValue(None, None, 0)
    boots = resampled_means(arr, n_boot=n_boot, seed=seed)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return MetricValue(float(arr.mean()), (float(lo), float(hi)), int(arr.size))


def count_outcomes(results: Sequence[ExampleResult] | ResultColumns) -> dict[str, int]:
    """The counts every result file carries: examples, ties, invalid, truncated."""
    return as_columns(results).counts()


def by_subset_means(
    results: Sequence[ExampleResult] | ResultColumns, metric: str = "accuracy"
) -> dict[str, dict[str, dict[str, float | int | None]]]:
    """Mean credit per subset over valid examples: {subset: {metric: {value, n}}}."""
    groups = as_columns(results).subset_credits()
    return {
        subset: {metric: {"value": float(np.mean(v)) if v.size else None, "n": int(v.size)}}
        for subset, v in sorted(groups.items())
    }


def aggregate_credits(
    results: Sequence[ExampleResult] | ResultColumns, *, metric: str = "accuracy", seed: int = 0
) -> Aggregate:
    """Mean credit over valid examples with CI, per-subset means and the standard counts."""
    columns = as_columns(results)
    return Aggregate(
        metrics={metric: mean_ci(columns.credits(), seed=seed)},
        by_subset=by_subset_means(columns, metric),
        counts=count_outcomes(columns),
    )
