"""``processbench`` and ``process-core``: does a process reward model find the first wrong step?

``processbench`` reads ProcessBench's schema (see :mod:`rmeval.tasks.process.rows`) from a
local file or the hub dataset (``Qwen/ProcessBench``, one split per source: gsm8k, math,
olympiadbench, omnimath); ``process-core`` generates the same schema offline
(:mod:`rmeval.tasks.process.generator`). The predicted first error is the first step scored
below ``tau`` (default 0.5); metrics are ProcessBench's (:mod:`rmeval.tasks.process.metrics`),
overall and per subset. ``tau=best`` takes the τ that maximises F1 on a dev split the user
names (``dev=PATH_OR_HUB_ID`` and/or ``dev_split=NAME``), never on the evaluated split; with a
dev split and a number for ``tau``, the dev τ and the F1 it gives here are reported too
(``tables.threshold``, metric ``f1_at_dev_tau``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from rmeval.harness.data import DatasetInfo, load_rows, rows_sha256
from rmeval.harness.errors import RmevalError
from rmeval.harness.metrics import count_outcomes
from rmeval.harness.paired_stats import ItemScorer
from rmeval.harness.records import (
    Aggregate,
    Example,
    ExampleResult,
    MetricValue,
    Score,
    ScoreRequest,
)
from rmeval.harness.task import RunContext, Task
from rmeval.tasks.core.rows import check_split
from rmeval.tasks.process.generator import GENERATOR_VERSION, generate_rows
from rmeval.tasks.process.metrics import (
    best_threshold,
    confusion,
    first_error,
    harmonic,
    point_values,
    process_metrics,
)
from rmeval.tasks.process.rows import process_examples, step_request


def parse_tau(value: Any) -> float | str:
    """``best`` or a finite number."""
    if str(value).strip().lower() == "best":
        return "best"
    try:
        tau = float(value)
    except (TypeError, ValueError):
        tau = math.nan
    if isinstance(value, bool) or not math.isfinite(tau):
        raise RmevalError(f"--task-args tau={value}: use a number (e.g. 0.5) or best.")
    return tau


def step_scores(
    steps: Sequence[str], score: Score, spec: str, example_id: str
) -> tuple[float, ...]:
    """A solution's step scores; a model that returned another count is refused."""
    values = score.steps
    if values is None or len(values) != len(steps):
        got = "no step scores" if values is None else f"{len(values)} step scores"
        raise RmevalError(
            f"example {example_id}: model {spec} returned {got} for {len(steps)} steps; "
            f"process tasks need one score per step."
        )
    return values


class ProcessBenchTask(Task):
    """First-error identification at a threshold: F1 of the two accuracies (main)."""

    name = "processbench"
    version = "1"
    main_score = "f1"
    default_data = "Qwen/ProcessBench"
    default_split = "gsm8k"
    uses_step_scores = True

    def __init__(
        self, tau: Any = 0.5, dev: str | None = None, dev_split: str | None = None, **kw: Any
    ) -> None:
        given = {k: v for k, v in {"dev": dev, "dev_split": dev_split}.items() if v is not None}
        super().__init__(tau=tau, **given, **kw)
        self.tau = parse_tau(tau)
        self.dev, self.dev_split = dev, dev_split
        if self.tau == "best" and not given:
            raise RmevalError(
                f"--task-args tau=best: {self.name} chooses τ on a dev split you name, never on "
                f"the evaluated one: add dev=PATH_OR_HUB_ID and/or dev_split=NAME."
            )
        self._dev_examples: list[Example] | None = None
        self.threshold: dict[str, Any] = {"tau": self.tau, "chosen_on": "given"}
        self._spec = "the model"

    # -- data ---------------------------------------------------------------------------
    def build_examples(self, rows: list[dict[str, Any]]) -> list[Example]:
        return process_examples(rows, self.data or self.name, str(self.split or "default"))

    def load_dev_rows(self) -> tuple[list[dict[str, Any]], DatasetInfo]:
        """The dev rows (``dev=`` or this task's data, split ``dev_split=``)."""
        source = self.dev or self.data
        if source is None:
            raise RmevalError(f"--task-args dev_split: {self.name} needs dev=PATH too.")
        return load_rows(source, split=self.dev_split or self.split)

    def dev_examples(self) -> list[Example]:
        """The dev split's examples (none without ``dev``/``dev_split``); refused when they are
        the evaluated rows."""
        if self._dev_examples is None:
            if not (self.dev or self.dev_split):
                self._dev_examples = []
                return []
            test = self.examples()
            rows, info = self.load_dev_rows()
            if self.dataset is not None and info.sha256 == self.dataset.sha256:
                raise RmevalError(
                    f"--task-args dev: the dev rows are the evaluated rows of {self.name}; "
                    f"choosing τ on the test split is not allowed: name another split."
                )
            self._dev_examples = process_examples(rows, f"dev {self.dev or self.dev_split}", "dev")
            shared = {e.prompt for e in test} & {e.prompt for e in self._dev_examples}
            if len(shared) == len(test):
                raise RmevalError(
                    f"--task-args dev: every problem of {self.name}'s rows is in the dev rows; "
                    f"choose τ on another split."
                )
        return self._dev_examples

    # -- scoring ------------------------------------------------------------------------
    def requests(self, example: Example) -> list[ScoreRequest]:
        return [step_request(example)]

    def all_requests(self) -> list[ScoreRequest]:
        return [step_request(e) for e in (*self.examples(), *self.dev_examples())]

    def run(self, ctx: RunContext) -> list[ExampleResult]:
        """Choose τ (given, or best on the dev split), then evaluate every example."""
        self.threshold = {"tau": self.tau, "chosen_on": "given"}
        dev = self.dev_examples()
        if dev:
            scored = [(e, ctx.scores[step_request(e).key]) for e in dev]
            spec = getattr(ctx.model, "spec", "the model")
            valid = [(e, step_scores(e.meta["steps"], s, spec, e.id)) for e, s in scored]
            valid = [(e, s) for e, s in valid if all(math.isfinite(x) for x in s)]
            tau, dev_f1 = best_threshold([s for _, s in valid], [e.meta["label"] for e, _ in valid])
            self.threshold |= {"dev_tau": tau, "dev_f1": dev_f1, "dev_n": len(valid)}
            self.threshold["dev"] = self.dev or self.data or "builtin:" + self.name
            self.threshold["dev_split"] = self.dev_split
            if self.tau == "best":
                self.threshold |= {"tau": tau, "chosen_on": "dev"}
        self._spec = getattr(ctx.model, "spec", "the model")
        return super().run(ctx)

    def evaluate(self, example: Example, scores: Sequence[Score]) -> ExampleResult:
        steps = step_scores(example.meta["steps"], scores[0], self._spec, example.id)
        label = example.meta["label"]
        extra: dict[str, Any] = {"label": label, "n_steps": len(steps)}
        if not all(math.isfinite(s) for s in steps):
            return ExampleResult(
                example.id,
                example.subset,
                list(steps),
                None,
                invalid=True,
                extra=extra | {"predicted": None},
            )
        pred = first_error(steps, float(self.threshold["tau"]))
        extra["predicted"] = pred
        if "dev_tau" in self.threshold:
            extra["predicted_at_dev_tau"] = first_error(steps, self.threshold["dev_tau"])
        credit = float(pred == label)
        return ExampleResult(example.id, example.subset, list(steps), credit, extra=extra)

    # -- metrics ------------------------------------------------------------------------
    def scorer(self, results: Sequence[ExampleResult]) -> ItemScorer:
        """F1 and the two accuracies on resampled solutions, for ``rmeval compare``."""
        valid = [r for r in results if not r.invalid]
        labels = np.array([r.extra["label"] for r in valid], dtype=int)
        preds = np.array([r.extra["predicted"] for r in valid], dtype=int)

        def formula(idx: np.ndarray | None) -> dict[str, float | None]:
            return (
                point_values(labels, preds)
                if idx is None
                else point_values(labels[idx], preds[idx])
            )

        return ItemScorer(len(valid), formula)

    def aggregate(self, results: Sequence[ExampleResult], seed: int = 0) -> Aggregate:
        valid = [r for r in results if not r.invalid]
        labels = [r.extra["label"] for r in valid]
        preds = [r.extra["predicted"] for r in valid]
        metrics = process_metrics(labels, preds, seed)
        if "dev_tau" in self.threshold:
            at_dev = process_metrics(labels, [r.extra["predicted_at_dev_tau"] for r in valid], seed)
            metrics["f1_at_dev_tau"] = at_dev["f1"]
        groups: dict[str, list[ExampleResult]] = defaultdict(list)
        for r in valid:
            groups[r.subset].append(r)
        by_subset = {
            name: {
                k: m.to_dict()
                for k, m in process_metrics(
                    [r.extra["label"] for r in rs], [r.extra["predicted"] for r in rs], seed
                ).items()
            }
            for name, rs in sorted(groups.items())
        }
        subset_f1 = [m["f1"]["value"] for m in by_subset.values()]
        if len(by_subset) > 1 and all(v is not None for v in subset_f1):
            metrics["f1_subset_mean"] = MetricValue(
                sum(subset_f1) / len(subset_f1), None, len(valid)
            )
        counts = count_outcomes(results) | {
            "erroneous": sum(1 for x in labels if x >= 0),
            "correct": sum(1 for x in labels if x < 0),
        }
        tables = {"first_error_confusion": confusion(labels, preds), "threshold": self.threshold}
        return Aggregate(metrics=metrics, by_subset=by_subset, counts=counts, tables=tables)


class ProcessCore(ProcessBenchTask):
    """ProcessBench's metrics on the built-in generated suite (offline; ``seed``, ``split``)."""

    name = "process-core"
    default_data = None
    default_split = "test"

    def __init__(self, seed: int = 0, **kw: Any) -> None:
        from rmeval.tasks.core.suite import _seed

        seed = _seed(seed)
        if kw.get("dev") is not None:
            raise RmevalError("process-core: choose τ with dev_split=train (its own train split).")
        super().__init__(seed=seed, **kw)
        self.seed = seed
        check_split(str(self.split))
        if self.dev_split is not None:
            check_split(self.dev_split)
            if self.dev_split == self.split:
                raise RmevalError(
                    f"--task-args dev_split={self.dev_split}: that is the evaluated split; "
                    f"choose τ on the other one."
                )

    def load_rows(self) -> tuple[list[dict[str, Any]], DatasetInfo]:
        return self._generated(str(self.split), self.limit)

    def load_dev_rows(self) -> tuple[list[dict[str, Any]], DatasetInfo]:
        return self._generated(str(self.dev_split), None)

    def _generated(self, split: str, limit: int | None) -> tuple[list[dict[str, Any]], DatasetInfo]:
        if self.data is not None:
            raise RmevalError(
                f"{self.name} generates its own rows; drop --data {self.name}=... "
                f"(evaluate a file with the 'processbench' task instead)."
            )
        rows = generate_rows(split, self.seed)[:limit]
        info = DatasetInfo(
            "builtin:process-core", f"generator-v{GENERATOR_VERSION}", split, rows_sha256(rows)
        )
        return rows, info


def processbench(**kwargs: Any) -> ProcessBenchTask:
    """ProcessBench on a file or the hub (``--task-args tau=0.5|best,dev=...,dev_split=...``)."""
    return ProcessBenchTask(**kwargs)


def process_core(**kwargs: Any) -> ProcessCore:
    """The built-in process suite (``--task-args seed=N,split=test,tau=best,dev_split=train``)."""
    return ProcessCore(**kwargs)


__all__ = ["ProcessBenchTask", "ProcessCore", "harmonic", "process_core", "processbench"]
