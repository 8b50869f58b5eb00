"""The per-model task ``starc``: distance from a reward model to a verifiable ground truth.

Ground truth is 1 for the chosen (correct) response and 0 for each rejected (wrong) one; by
default the rows are the built-in core suite's best-of-4 items, and ``--data starc=FILE`` takes
any preference file (one chosen, one or more rejected). The main score is STARC-L2 in the
bandit form (per-prompt centring, one L2 standardisation over all valid prompts; range [0, 2],
lower is better) with a bootstrap 95% CI over prompts; EPIC is reported beside it.

Per-example ``credit`` is the prompt's term ||x_i - y_i||^2 of the squared distance, where x
and y are the standardised ground truth and model rewards, so starc_distance = sqrt(sum of
credits). The term needs the norms over all prompts, so ``evaluate`` leaves credit None and
``run`` fills it in; NaN/inf scores mark the example invalid (excluded and counted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from rmeval.harness.data import DatasetInfo, rows_sha256
from rmeval.harness.metrics import count_outcomes, has_invalid
from rmeval.harness.paired_stats import ItemScorer
from rmeval.harness.records import Aggregate, Example, ExampleResult, MetricValue, Score
from rmeval.harness.task import RunContext
from rmeval.tasks.preference import PreferenceTask
from rmeval.tasks.starc.bandit import (
    CONVENTION,
    bootstrap_distances,
    distance_matrix,
    distances_from_moments,
    epic,
    prompt_moments,
    standardize,
    starc_l2,
)

GROUND_TRUTH = "1 for the chosen (correct) response, 0 for each rejected (wrong) response"


def _truth(result: ExampleResult) -> list[float]:
    truth = result.extra.get("ground_truth")
    return list(truth) if truth is not None else [1.0] + [0.0] * (len(result.scores) - 1)


def fill_credits(results: Sequence[ExampleResult]) -> None:
    """Set each valid result's credit to its prompt's term of the squared STARC distance."""
    valid = [r for r in results if not r.invalid]
    if not valid:
        return
    truth = standardize([_truth(r) for r in valid])
    model = standardize([r.scores for r in valid])
    for r, x, y in zip(valid, truth, model, strict=True):
        r.credit = float(((x - y) ** 2).sum())


class StarcTask(PreferenceTask):
    """STARC-L2 (and EPIC) between the model's reward and a 1/0 correctness reward."""

    name = "starc"
    version = "1"
    main_score = "starc_distance"
    higher_is_better = False
    default_data = None
    default_split = "test"
    min_rejected = 1
    score_kinds = ("reward",)  # a distance between reward functions, not between P(YES)s
    # credit is the prompt's share of the distance, not a 0/1 verdict: "wrong" reads the scores
    samples_view = {
        "wrong": "margin>=0",
        "margin": "best_rejected_minus_worst_chosen",
        "candidates": "chosen/rejected",
        "n_chosen": 1,
    }

    def __init__(self, seed: int = 0, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.seed = seed

    def load_rows(self) -> tuple[list[dict[str, Any]], DatasetInfo]:
        """The core suite's best-of-4 rows (generated from ``seed``) unless --data is given."""
        if self.data is not None:
            return super().load_rows()
        from rmeval.tasks.core import generate_rows

        split = self.split or "test"
        rows = generate_rows(split, self.seed)
        if self.limit is not None:
            rows = rows[: self.limit]
        return rows, DatasetInfo("builtin:core", None, split, rows_sha256(rows))

    def evaluate(self, example: Example, scores: Sequence[Score]) -> ExampleResult:
        """Scores and ground truth of one prompt; credit is filled by ``run`` (see module)."""
        values = [s.value for s in scores]
        truth = [1.0] * example.n_chosen + [0.0] * (len(values) - example.n_chosen)
        return ExampleResult(
            example.id,
            example.subset,
            values,
            None,
            invalid=has_invalid(values),
            extra={"ground_truth": truth},
        )

    def run(self, ctx: RunContext) -> list[ExampleResult]:
        """Evaluate every example, then set credits from the norms over all valid prompts."""
        results = super().run(ctx)
        fill_credits(results)
        return results

    @classmethod
    def distance(cls, scores: Mapping[str, Mapping[str, Sequence[float]]]) -> dict[str, Any]:
        """STARC-L2 and EPIC matrices between models (``rmeval compare --distance starc``)."""
        return distance_matrix(scores)

    def scorer(self, results: Sequence[ExampleResult]) -> ItemScorer:
        """STARC and EPIC of any multiset of the valid prompts (``rmeval compare`` resamples)."""
        valid = [r for r in results if not r.invalid]
        truth, model = [_truth(r) for r in valid], [r.scores for r in valid]
        moments = prompt_moments(truth, model) if valid else np.zeros((0, 3))

        def formula(idx: np.ndarray | None) -> dict[str, float | None]:
            if not valid:
                return {"starc_distance": None, "epic_distance": None}
            if idx is None:  # the very computation of ``aggregate``, so the values match exactly
                return {
                    "starc_distance": starc_l2(truth, model),
                    "epic_distance": epic(truth, model),
                }
            starc_value, epic_value = distances_from_moments(moments[idx])
            return {"starc_distance": starc_value, "epic_distance": epic_value}

        return ItemScorer(len(valid), formula)

    def aggregate(self, results: Sequence[ExampleResult], seed: int = 0) -> Aggregate:
        """STARC and EPIC over valid prompts (CI by prompt bootstrap), per subset, counts."""
        valid = [r for r in results if not r.invalid]
        if valid:
            metrics = bootstrap_distances(
                [_truth(r) for r in valid], [r.scores for r in valid], seed=seed
            )
        else:
            metrics = {k: MetricValue(None, None, 0) for k in ("starc_distance", "epic_distance")}
        return Aggregate(
            metrics=metrics,
            by_subset=_by_subset(results),
            counts=count_outcomes(results),
            tables={"convention": CONVENTION, "ground_truth": GROUND_TRUTH},
        )


def _by_subset(results: Sequence[ExampleResult]) -> dict[str, dict[str, dict[str, Any]]]:
    """Each subset's distances, standardised within the subset."""
    groups: dict[str, list[ExampleResult]] = {}
    for r in results:
        valid = groups.setdefault(r.subset, [])
        if not r.invalid:
            valid.append(r)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for subset, rs in sorted(groups.items()):
        truth, model = [_truth(r) for r in rs], [r.scores for r in rs]
        out[subset] = {
            "starc_distance": {"value": starc_l2(truth, model) if rs else None, "n": len(rs)},
            "epic_distance": {"value": epic(truth, model) if rs else None, "n": len(rs)},
        }
    return out


def starc(**kwargs: Any) -> StarcTask:
    """STARC distance to the 1/0 ground truth of the core best-of-4 suite (or ``--data``)."""
    return StarcTask(**kwargs)
