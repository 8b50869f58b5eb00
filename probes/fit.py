"""Linear probes (pure): fit on the train split, score on the test split.

Protocol: features standardised with a ``StandardScaler`` fitted on the train split only (and
refitted inside every cross-validation fold); scikit-learn ``LogisticRegression`` (lbfgs,
fixed ``random_state``); the inverse regularisation strength ``C`` is chosen from ``C_GRID``
by stratified k-fold cross-validation (accuracy, k = min(5, smallest class count), shuffled
with the seed) on the train split only, then the probe is refitted on the whole train split.
Reported per dimension: test accuracy with a bootstrap 95% CI over per-example correctness,
macro-F1, and the majority-class baseline (the train split's most frequent class, ties to the
smallest label, evaluated on the test split).
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from rmeval.harness.errors import RmevalError
from rmeval.harness.metrics import N_BOOT, mean_ci
from rmeval.harness.records import MetricValue

C_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
"""Candidate values of the logistic regression's inverse regularisation strength."""
MAX_ITER = 2000


@dataclass
class Probe:
    """A fitted probe: scaler + logistic regression, and the C the cross-validation chose."""

    model: Any
    """The fitted scikit-learn pipeline (scaler, logistic regression)."""
    classes: list[int]
    """Labels in ascending order (the columns of ``predict_proba``)."""
    C: float
    cv_accuracy: float
    """Mean cross-validated train accuracy at the chosen C."""
    majority_class: int

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted labels."""
        return self.model.predict(x)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes``."""
        return self.model.predict_proba(x)

    def better_score(self, x: np.ndarray) -> np.ndarray:
        """Expected class rank scaled to [0, 1]: sum_k P(k) * rank(k) / (K - 1).

        Labels are ordered worst to best, so this is P(highest class) for two classes and
        grows with the probability mass on the "better" end in general.
        """
        proba = self.predict_proba(x)
        ranks = np.arange(len(self.classes), dtype=float) / max(len(self.classes) - 1, 1)
        return proba @ ranks


@dataclass
class ProbeReport:
    """Test-split performance of one probe."""

    accuracy: MetricValue
    macro_f1: float
    majority_baseline: float
    predictions: np.ndarray
    probabilities: np.ndarray
    correct: np.ndarray

    def table_row(self) -> dict[str, Any]:
        """The ``tables.dimensions`` entry (accuracy, ci95, macro_f1, majority_baseline)."""
        ci = self.accuracy.ci95
        return {
            "accuracy": self.accuracy.value,
            "ci95": list(ci) if ci else None,
            "macro_f1": self.macro_f1,
            "majority_baseline": self.majority_baseline,
        }


def majority_label(labels: np.ndarray) -> int:
    """The most frequent label (ties go to the smallest)."""
    counts = Counter(int(y) for y in labels)
    return min(counts, key=lambda y: (-counts[y], y))


def fit_probe(x: np.ndarray, y: np.ndarray, seed: int = 0, *, name: str = "probe") -> Probe:
    """Standardise + logistic regression with C chosen by stratified CV on (x, y) only."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(y).astype(int)
    counts = Counter(y.tolist())
    if len(counts) < 2 or min(counts.values()) < 2:
        raise RmevalError(
            f"{name}: the train split needs at least two examples of each of at least two "
            f"classes (has {dict(sorted(counts.items()))}); use more data or a larger --limit."
        )
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(max_iter=MAX_ITER, random_state=seed)),
        ]
    )
    cv = StratifiedKFold(n_splits=min(5, min(counts.values())), shuffle=True, random_state=seed)
    search = GridSearchCV(pipe, {"clf__C": list(C_GRID)}, cv=cv, scoring="accuracy", n_jobs=1)
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    # One BLAS thread: these fits are tiny, and threads only add contention (6x slower).
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        search.fit(np.asarray(x, dtype=np.float64), y)
    return Probe(
        model=search.best_estimator_,
        classes=[int(c) for c in search.best_estimator_.classes_],
        C=float(search.best_params_["clf__C"]),
        cv_accuracy=float(search.best_score_),
        majority_class=majority_label(y),
    )


def evaluate_probe(probe: Probe, x: np.ndarray, y: np.ndarray, seed: int = 0) -> ProbeReport:
    """Test accuracy (bootstrap 95% CI), macro-F1 and the majority baseline of a fitted probe."""
    from sklearn.metrics import f1_score

    y = np.asarray(y).astype(int)
    x = np.asarray(x, dtype=np.float64)
    pred = probe.predict(x).astype(int)
    correct = (pred == y).astype(float)
    labels = sorted(set(probe.classes) | set(y.tolist()))
    return ProbeReport(
        accuracy=mean_ci(correct.tolist(), seed=seed),
        macro_f1=float(f1_score(y, pred, labels=labels, average="macro", zero_division=0)),
        majority_baseline=float(np.mean(y == probe.majority_class)) if y.size else 0.0,
        predictions=pred,
        probabilities=probe.predict_proba(x),
        correct=correct,
    )


def mean_of_means(groups: list[np.ndarray], seed: int = 0, n_boot: int = N_BOOT) -> MetricValue:
    """Mean over groups of each group's mean, with a stratified bootstrap 95% CI.

    Each bootstrap replicate resamples every group within itself (keeping its size), so the
    CI reflects the test-set noise of each dimension and weights dimensions equally.
    """
    groups = [np.asarray(g, dtype=float) for g in groups if len(g)]
    if not groups:
        return MetricValue(None, None, 0)
    rng = np.random.default_rng(seed)
    boots = np.zeros(n_boot)
    for g in groups:
        boots += g[rng.integers(0, g.size, (n_boot, g.size))].mean(axis=1)
    boots /= len(groups)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    value = float(np.mean([g.mean() for g in groups]))
    return MetricValue(value, (float(lo), float(hi)), int(sum(g.size for g in groups)))
