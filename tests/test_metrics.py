"""Credit rules, counts and bootstrap CIs against values worked out by hand."""

import math

import numpy as np
import pytest
from rmeval.harness.metrics import (
    aggregate_credits,
    best_of_n_credit,
    bootstrap_ci,
    mean_ci,
    pairwise_credit,
)
from rmeval.harness.records import ExampleResult


@pytest.mark.parametrize(
    ("chosen", "rejected", "ties", "expected"),
    [
        (1.0, 0.0, "strict", (1.0, False, False)),
        (0.0, 1.0, "strict", (0.0, False, False)),
        (0.5, 0.5, "strict", (0.0, True, False)),
        (0.5, 0.5, "half", (0.5, True, False)),
        (math.nan, 1.0, "strict", (None, False, True)),
        (1.0, math.inf, "half", (None, False, True)),
    ],
)
def test_pairwise_credit(chosen, rejected, ties, expected):
    assert pairwise_credit(chosen, rejected, ties) == expected


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([3, 1, 2, 0], (1.0, False, False)),  # clean win
        ([3, 3, 2, 0], (0.5, True, False)),  # 2-way tie at the top: 1/2
        ([3, 3, 3, 0], (1 / 3, True, False)),  # 3-way: 1/3
        ([3, 3, 3, 3], (0.25, True, False)),
        ([1, 3, 3, 0], (0.0, False, False)),  # chosen not at the top (tie elsewhere is no credit)
        ([1, math.nan, 0, 0], (None, False, True)),
    ],
)
def test_best_of_n_credit(scores, expected):
    credit, tie, invalid = best_of_n_credit([float(s) for s in scores])
    assert (credit if credit is None else pytest.approx(credit), tie, invalid) == expected


def _res(i, subset, credit, tie=False, invalid=False):
    return ExampleResult(str(i), subset, [0.0, 0.0], credit, tie=tie, invalid=invalid)


def test_aggregate_excludes_invalid_and_counts_ties():
    results = [
        _res(0, "a", 1.0),
        _res(1, "a", 0.0, tie=True),
        _res(2, "b", 1.0),
        _res(3, "b", None, invalid=True),
        _res(4, "b", 0.5, tie=True),
    ]
    agg = aggregate_credits(results, seed=0)
    # valid credits 1, 0, 1, 0.5 -> 2.5 / 4
    assert agg.metrics["accuracy"].value == pytest.approx(0.625)
    assert agg.metrics["accuracy"].n == 4
    assert agg.by_subset == {
        "a": {"accuracy": {"value": 0.5, "n": 2}},
        "b": {"accuracy": {"value": 0.75, "n": 2}},
    }
    assert agg.counts == {"examples": 5, "ties": 2, "invalid": 1, "truncated": 0}


def test_bootstrap_ci_is_seeded_and_brackets_the_mean():
    values = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 1], dtype=float)
    a = mean_ci(values, seed=3)
    b = mean_ci(values, seed=3)
    assert a.ci95 == b.ci95
    assert a.value == pytest.approx(0.7)
    assert a.ci95[0] <= a.value <= a.ci95[1]
    # constant data: the CI collapses onto the value
    assert mean_ci([1.0] * 20).ci95 == (1.0, 1.0)
    assert mean_ci([]).value is None


def test_generic_bootstrap_matches_the_vectorised_mean():
    values = np.arange(20, dtype=float) % 3
    ci = bootstrap_ci(len(values), lambda idx: values[idx].mean(), seed=0)
    assert ci[0] < values.mean() < ci[1]
    assert bootstrap_ci(0, lambda idx: 0.0) is None


def _independent_ci(values: np.ndarray, draws: np.ndarray) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of the bootstrap means, computed here from the draws."""
    means = np.sort(values[draws].mean(axis=1))
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def test_mean_ci_is_the_95_percent_percentile_interval():
    values = np.random.default_rng(7).normal(size=50)
    draws = np.random.default_rng(11).integers(0, values.size, (1000, values.size))
    assert mean_ci(values, seed=11).ci95 == pytest.approx(_independent_ci(values, draws))


def test_bootstrap_ci_is_the_95_percent_percentile_interval():
    values = np.random.default_rng(7).normal(size=50)
    rng = np.random.default_rng(5)
    draws = np.stack([rng.integers(0, values.size, values.size) for _ in range(1000)])
    ci = bootstrap_ci(values.size, lambda idx: values[idx].mean(), seed=5)
    assert ci == pytest.approx(_independent_ci(values, draws))


def test_bootstrap_ci_level_from_a_statistic_with_a_known_distribution():
    # idx[0] of a resample of range(1000) is uniform on 0..999: its central 95% is about
    # [25, 975] (a 90% interval would be [50, 950]); the percentile's sampling error over
    # 1000 resamples is about 5
    ci = bootstrap_ci(1000, lambda idx: float(idx[0]), seed=0)
    assert ci[0] == pytest.approx(25, abs=15) and ci[1] == pytest.approx(975, abs=15)
