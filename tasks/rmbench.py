"""RM-Bench (``THU-KEG/RM-Bench``) with the reference style-matrix scoring.

Rows hold ``prompt``, ``chosen`` and ``rejected`` (three responses each, in style order concise,
detailed plain, detailed markdown), ``domain`` and ``id``. Per domain the 3×3 matrix
A[i][j] = fraction of rows with score(chosen[i]) > score(rejected[j]) (strict: ties count 0 and
are counted); hard = mean of the strict upper triangle (chosen in a plainer style than the
rejected), normal = mean of the diagonal, easy = mean of the strict lower triangle; domain score =
mean(hard, normal, easy). Domains: chat, math, code, safety (rows of safety-refuse and
safety-response pooled, as the reference's ``startswith``). Overall = mean of the domain scores;
hard/normal/easy overall = their means over the domains present.

An example's credit is mean(hard, normal, easy) of its own 0/1 matrix; by linearity the mean
credit of a domain's rows equals its domain score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from rmeval.harness.errors import RmevalError
from rmeval.harness.metrics import by_subset_means, count_outcomes, has_invalid
from rmeval.harness.records import Aggregate, Example, ExampleResult, Score
from rmeval.harness.task import Task
from rmeval.tasks.scorers import UnitScorer, scorer_metrics, valid_results
from rmeval.tasks.validation import collect_rows, text_list_problems, text_problem

RMBENCH_REVISION = "main"
"""Not a pin (a branch): no commit sha could be verified offline; the result file records
``revision_requested`` and the ``revision_resolved`` commit the rows were loaded at."""

DOMAINS = ("chat", "math", "code", "safety")
STYLES = ("concise", "detailed_plain", "detailed_markdown")
N_STYLES = len(STYLES)
_UPPER = [(i, j) for i in range(N_STYLES) for j in range(N_STYLES) if i < j]
_LOWER = [(i, j) for i in range(N_STYLES) for j in range(N_STYLES) if i > j]


def domain_group(domain: str) -> str | None:
    """The scored domain of a row's ``domain`` value (``safety-refuse`` -> ``safety``)."""
    return next((g for g in DOMAINS if domain == g or domain.startswith(g + "-")), None)


def style_matrix(scores: Sequence[float]) -> np.ndarray:
    """0/1 matrix M[i][j] = score(chosen[i]) > score(rejected[j]) of one row's six scores."""
    chosen, rejected = scores[:N_STYLES], scores[N_STYLES:]
    return np.array([[float(c > r) for r in rejected] for c in chosen])


def triangle_means(matrix: np.ndarray) -> tuple[float, float, float]:
    """(hard, normal, easy): means of the strict upper triangle, the diagonal, the lower one."""
    hard = sum(matrix[i, j] for i, j in _UPPER) / len(_UPPER)
    easy = sum(matrix[i, j] for i, j in _LOWER) / len(_LOWER)
    return float(hard), float(np.mean(np.diag(matrix))), float(easy)


class RMBenchTask(Task):
    """RM-Bench: per-domain 3×3 chosen-style × rejected-style accuracy matrices."""

    name = "rmbench"
    version = "1"
    main_score = "score"
    default_data = "THU-KEG/RM-Bench"
    default_revision = RMBENCH_REVISION
    default_split = "train"  # the hub dataset has a single split
    allow_empty_responses = True  # the reference scores every row of its curated data
    samples_view = {
        "wrong": "credit<1",
        "margin": "best_rejected_minus_worst_chosen",
        "candidates": "chosen/rejected",
        "n_chosen": N_STYLES,
    }

    def build_examples(self, rows: list[dict[str, Any]]) -> list[Example]:
        return collect_rows(rows, source=self.data or self.name, convert=self._example)

    def _example(self, row: dict[str, Any], rid: str) -> Example | list[str]:
        problems = []
        if (p := text_problem(row.get("prompt"), "'prompt'", allow_empty=False)) is not None:
            problems.append(p)
        for name in ("chosen", "rejected"):
            problems += text_list_problems(
                row, name, allow_empty=self.allow_empty_responses, size=N_STYLES
            )
        domain = row.get("domain")
        if not isinstance(domain, str) or domain_group(domain) is None:
            problems.append(f"domain {domain!r} is not one of {', '.join(DOMAINS)} (or safety-*)")
        if problems:
            return problems
        candidates = tuple(row["chosen"]) + tuple(row["rejected"])
        return Example(rid, domain, row["prompt"], candidates, n_chosen=N_STYLES)

    def evaluate(self, example: Example, scores: Sequence[Score]) -> ExampleResult:
        values = [s.value for s in scores]
        if has_invalid(values):
            return ExampleResult(example.id, example.subset, values, None, invalid=True)
        credit = float(np.mean(triangle_means(style_matrix(values))))
        tie = any(c == r for c in values[:N_STYLES] for r in values[N_STYLES:])
        return ExampleResult(example.id, example.subset, values, credit, tie=tie)

    def scorer(self, results: Sequence[ExampleResult]) -> UnitScorer:
        """Domain, difficulty and overall scores from per-example weights."""
        valid = valid_results(results)
        onehot, flat = design(valid)

        def values(w: np.ndarray) -> dict[str, float | None]:
            return domain_values(domain_matrices(w, onehot, flat))

        return UnitScorer(np.arange(len(valid)), len(valid), values)

    def aggregate(self, results: Sequence[ExampleResult], seed: int = 0) -> Aggregate:
        """Reference overall (``score``), domains and difficulties, each with a bootstrap CI."""
        valid = valid_results(results)
        scorer = self.scorer(results)
        point = scorer.point()
        counts = {g: sum(domain_group(r.subset) == g for r in valid) for g in DOMAINS}
        sizes = {"score": len(valid)} | {g: n for g, n in counts.items() if n}
        if len(valid):
            sizes |= {"hard": len(valid), "normal": len(valid), "easy": len(valid)}
        matrices = domain_matrices(np.ones(len(valid)), *design(valid))
        return Aggregate(
            metrics=scorer_metrics(scorer, sizes, seed),
            by_subset=by_subset_means(results, "accuracy"),
            counts=count_outcomes(results),
            tables={
                "style_matrix": {g: m.tolist() for g, m in matrices.items()},
                "difficulty": {d: point[d] for d in ("hard", "normal", "easy") if d in point},
            },
        )


def design(valid: Sequence[ExampleResult]) -> tuple[np.ndarray, np.ndarray]:
    """Domain one-hot rows (n × 4) and flattened 0/1 style matrices (n × 9) of valid results."""
    onehot = np.zeros((len(valid), len(DOMAINS)))
    for i, r in enumerate(valid):
        group = domain_group(r.subset)
        if group is None:
            raise RmevalError(f"result {r.id}: domain '{r.subset}' is not an RM-Bench domain.")
        onehot[i, DOMAINS.index(group)] = 1.0
    flat = np.array([style_matrix(r.scores).ravel() for r in valid]).reshape(len(valid), -1)
    return onehot, flat


def domain_matrices(w: np.ndarray, onehot: np.ndarray, flat: np.ndarray) -> dict[str, np.ndarray]:
    """Weighted 3×3 accuracy matrix of each domain with any weight."""
    totals = w @ onehot
    sums = (onehot * w[:, None]).T @ flat
    return {
        g: (sums[k] / totals[k]).reshape(N_STYLES, N_STYLES)
        for k, g in enumerate(DOMAINS)
        if totals[k] > 0
    }


def domain_values(matrices: dict[str, np.ndarray]) -> dict[str, float | None]:
    """Domain scores, difficulty means over domains and the overall from the domain matrices."""
    if not matrices:
        return {"score": None}
    tri = {g: triangle_means(m) for g, m in matrices.items()}
    out: dict[str, float | None] = {g: float(np.mean(t)) for g, t in tri.items()}
    for k, name in enumerate(("hard", "normal", "easy")):
        out[name] = float(np.mean([t[k] for t in tri.values()]))
    out["score"] = float(np.mean([out[g] for g in tri]))
    return out


def rmbench(**kwargs: Any) -> RMBenchTask:
    """RM-Bench with its reference style matrices (hard / normal / easy per domain)."""
    return RMBenchTask(**kwargs)
