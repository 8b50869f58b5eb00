"""ProcessBench's metrics, pure: the predicted first error, the two accuracies and their
harmonic mean, the first-error confusion matrix and the F1-maximising threshold.

With step scores s_0..s_{n-1} and threshold τ, the predicted first error is the first i with
s_i < τ, or -1 when there is none. ``acc_erroneous`` is the share of solutions with a wrong
step (label ≥ 0) whose prediction equals the label; ``acc_correct`` the share of correct
solutions (label -1) predicted -1; ``f1`` = 2·a·c / (a + c) (0 when both are 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from rmeval.harness.errors import RmevalError
from rmeval.harness.metrics import bootstrap_ci, mean_ci
from rmeval.harness.records import MetricValue


def first_error(steps: Sequence[float], tau: float) -> int:
    """Index of the first step scored below ``tau``, or -1."""
    return next((i for i, s in enumerate(steps) if s < tau), -1)


def harmonic(a: float | None, c: float | None) -> float | None:
    """F1 of the two accuracies (None when either is undefined)."""
    if a is None or c is None:
        return None
    return 0.0 if a + c == 0 else 2 * a * c / (a + c)


def point_values(labels: np.ndarray, preds: np.ndarray) -> dict[str, float | None]:
    """``f1``, ``acc_erroneous`` and ``acc_correct`` of these solutions (None: undefined)."""
    err = labels >= 0
    a = float((preds[err] == labels[err]).mean()) if err.any() else None
    c = float((preds[~err] == -1).mean()) if (~err).any() else None
    return {"f1": harmonic(a, c), "acc_erroneous": a, "acc_correct": c}


def _f1_of(labels: np.ndarray, preds: np.ndarray) -> float:
    f1 = point_values(labels, preds)["f1"]
    return math.nan if f1 is None else f1


def process_metrics(
    labels: Sequence[int], preds: Sequence[int], seed: int = 0
) -> dict[str, MetricValue]:
    """``f1``, ``acc_erroneous`` and ``acc_correct`` with bootstrap 95% CIs (solutions
    resampled; a resample lacking either kind of solution is skipped)."""
    lab, pre = np.asarray(labels, dtype=int), np.asarray(preds, dtype=int)
    err = lab >= 0
    acc_e = mean_ci((pre[err] == lab[err]).astype(float).tolist(), seed=seed)
    acc_c = mean_ci((pre[~err] == -1).astype(float).tolist(), seed=seed)
    f1 = harmonic(acc_e.value, acc_c.value)
    ci = bootstrap_ci(len(lab), lambda idx: _f1_of(lab[idx], pre[idx]), seed=seed)
    return {
        "f1": MetricValue(f1, ci if f1 is not None else None, len(lab)),
        "acc_erroneous": acc_e,
        "acc_correct": acc_c,
    }


def confusion(labels: Sequence[int], preds: Sequence[int]) -> dict[str, list]:
    """``{"labels": ["none", "0", ...], "matrix": rows true, columns predicted}``."""
    top = max([-1, *labels, *preds])
    names = ["none", *map(str, range(top + 1))]
    matrix = [[0] * len(names) for _ in names]
    for t, p in zip(labels, preds):
        matrix[t + 1][p + 1] += 1
    return {"labels": names, "matrix": matrix}


def best_threshold(steps: Sequence[Sequence[float]], labels: Sequence[int]) -> tuple[float, float]:
    """(τ, F1): the threshold that maximises F1 on these solutions (the smallest such τ among
    the step scores and one value above them all; every other τ predicts as one of these)."""
    lab = np.asarray(labels, dtype=int)
    if not (lab >= 0).any() or not (lab < 0).any():
        raise RmevalError(
            "tau=best: the dev data needs both solutions with a wrong step and fully correct "
            "ones to choose a threshold; give another dev split."
        )
    mins = [np.minimum.accumulate(np.asarray(s, dtype=float)) for s in steps]
    # a solution with a wrong step at L is right for τ in (m[L], m[L-1]] (m: running minimum)
    lo = np.array([m[t] for m, t in zip(mins, lab) if t >= 0])
    hi = np.array([m[t - 1] if t > 0 else np.inf for m, t in zip(mins, lab) if t >= 0])
    last = np.array([m[-1] for m, t in zip(mins, lab) if t < 0])  # right for τ <= m[-1]
    values = np.unique(np.concatenate(mins))
    cands = np.append(values, np.nextafter(values[-1], np.inf))
    below = lambda x: np.searchsorted(np.sort(x), cands, side="left")  # noqa: E731  count(x < τ)
    acc_e = (below(lo) - below(hi)) / len(lo)
    acc_c = 1 - below(last) / len(last)
    total = acc_e + acc_c
    f1 = np.where(total > 0, 2 * acc_e * acc_c / np.where(total > 0, total, 1), 0.0)
    best = int(np.argmax(f1))
    return float(cands[best]), float(f1[best])
