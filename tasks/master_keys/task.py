"""The ``master-keys`` task: how often a content-free response fools a verifier or a reward model.

Each item is a (question, reference) pair with a real correct and a real wrong answer (see
``items``); each example scores, in this order, the correct answer, the wrong answer and every
key as a complete response, with the reference attached to every request (a reference-based
judge sees it). Keys are whole responses and may be a lone blank space: this task, unlike the
preference tasks, never rejects a blank response.

Which numbers are reported depends on the model's score kind, read from the adapter's class
attribute ``RewardModel.score_kind`` ("probability" for a judge's P(YES), "reward" otherwise);
``mode=probability|reward`` overrides it for adapters that do not declare it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rmeval.harness.data import DatasetInfo
from rmeval.harness.errors import RmevalError
from rmeval.harness.paired_stats import ItemScorer
from rmeval.harness.records import Aggregate, Example, ExampleResult, Score
from rmeval.harness.task import RunContext, Task
from rmeval.tasks.judged import JudgedTask, add_judge_metrics
from rmeval.tasks.master_keys.items import BUILTIN_SOURCE, builtin_rows, items_from_rows
from rmeval.tasks.master_keys.keys import resolve_keys
from rmeval.tasks.master_keys.outcomes import SCORE_KINDS, THRESHOLD, evaluate_item
from rmeval.tasks.master_keys.summary import MAIN_SCORE, key_scorer, summarize


def _choice(flag: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise RmevalError(f"--task-args {flag}={value}: use one of {', '.join(allowed)}.")
    return str(value)


class MasterKeysTask(JudgedTask, Task):
    """Worst-case (over keys) false-positive rate of a judge, or key-beats-wrong rate of an RM."""

    judge_protocol = "pointwise"

    name = "master-keys"
    version = "1"
    main_score = MAIN_SCORE
    higher_is_better = False
    default_data = None
    default_split = "test"
    allow_empty_responses = True

    def __init__(
        self,
        keys: str | Sequence[str] | None = None,
        default_keys: bool = True,
        mode: str = "auto",
        ties: str = "strict",
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        if not isinstance(default_keys, bool):
            raise RmevalError(f"--task-args default_keys={default_keys}: use true or false.")
        self.mode = _choice("mode", mode, ("auto", *SCORE_KINDS))
        self.ties = _choice("ties", ties, ("strict", "half"))
        self.keys = resolve_keys(keys, default_keys)
        self.seed = int(seed)
        given = {} if keys is None else {"keys": keys if isinstance(keys, str) else list(keys)}
        super().__init__(
            **given, default_keys=default_keys, mode=mode, ties=ties, seed=seed, **kwargs
        )
        self.kind: str | None = None if mode == "auto" else mode

    def load_rows(self) -> tuple[list[dict[str, Any]], DatasetInfo]:
        """Rows of ``--data``, or the core suite's math and factual items (``limit`` each)."""
        if self.data is not None:
            return super().load_rows()
        return builtin_rows(self.split, self.seed, self.limit)

    def build_examples(self, rows: list[dict[str, Any]]) -> list[Example]:
        """One example per item: candidates = (correct, wrong, *keys), reference attached."""
        items = items_from_rows(rows, source=self.data or BUILTIN_SOURCE)
        return [
            Example(
                id=it.id,
                subset=it.dataset,
                prompt=it.question,
                candidates=(it.correct, it.wrong, *self.keys),
                n_chosen=1,
                reference=it.reference,
                meta={"wrong_from": it.wrong_from},
            )
            for it in items
        ]

    def resolve_kind(self, model: Any) -> str:
        """``mode`` when given, else the adapter's ``score_kind`` (default ``reward``)."""
        if self.mode != "auto":
            return self.mode
        kind = getattr(model, "score_kind", "reward")
        if kind not in SCORE_KINDS:
            raise RmevalError(
                f"model {getattr(model, 'spec', model)} declares score_kind {kind!r}; pass "
                f"--task-args mode=probability or mode=reward to master-keys."
            )
        return kind

    def run(self, ctx: RunContext) -> list[ExampleResult]:
        """Read the model's score kind, then evaluate every item."""
        self.kind = self.resolve_kind(ctx.model)
        return super().run(ctx)

    def evaluate(self, example: Example, scores: Sequence[Score]) -> ExampleResult:
        """Per-key outcomes of one item (needs the score kind: ``run`` or ``mode`` sets it)."""
        if self.kind is None:
            raise RuntimeError("master-keys: call run(ctx) or pass mode= before evaluate().")
        return evaluate_item(example, [s.value for s in scores], self.kind, self.keys, self.ties)

    def scorer(self, results: Sequence[ExampleResult]) -> ItemScorer:
        """The key rates of any multiset of the valid items (``rmeval compare`` resamples)."""
        kind = next((r.extra["score_kind"] for r in results if "score_kind" in r.extra), None)
        return key_scorer(results, kind or self.kind or "reward", self.keys)

    def describe_samples(self) -> dict[str, Any]:
        """A line is wrong when a key fooled the model; the margin depends on the score kind."""
        if self.kind == "probability":
            margin = {"margin": "best_key_minus_threshold", "threshold": THRESHOLD}
        else:
            margin = {"margin": "best_key_minus_wrong"}
        return {"wrong": "credit>0", **margin, "candidates": "correct/wrong/keys"}

    def aggregate(self, results: Sequence[ExampleResult], seed: int = 0) -> Aggregate:
        """Worst-case and mean key rates, per-key metrics with CIs, the key × dataset grid."""
        kind = next((r.extra["score_kind"] for r in results if "score_kind" in r.extra), None)
        agg = summarize(results, kind or self.kind or "reward", self.keys, self.ties, seed)
        return add_judge_metrics(agg, results, seed)


def master_keys(**kwargs: Any) -> MasterKeysTask:
    """One-token master-key attacks on the built-in verifiable items or ``--data`` items."""
    return MasterKeysTask(**kwargs)
