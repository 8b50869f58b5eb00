"""Generic preference tasks over any file or hub dataset: ``pairwise`` and ``best-of-n``.

Rows carry ``prompt`` (a string, or chat messages ending with the user turn), ``chosen``,
``rejected`` (a string or a list of strings) and optional ``id`` and ``subset``. ``pairwise``
gives an example credit = mean over its rejected responses of the pairwise credit (a single
rejected response gives the usual 0/1); ``best-of-n`` gives 1/k when the chosen response ties
k-ways at the top, else 0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

from rmeval.harness.adapters.base import parse_bool
from rmeval.harness.data import RowSource, is_local_data, open_rows
from rmeval.harness.errors import RmevalError
from rmeval.harness.metrics import best_of_n_credit, pairwise_credit
from rmeval.harness.records import Aggregate, Example, ExampleResult, Score, ScoreRequest
from rmeval.harness.result_columns import ResultColumns
from rmeval.harness.task import Task
from rmeval.tasks import attribute_table, preference_formats
from rmeval.tasks.judged import JudgedTask
from rmeval.tasks.preference_formats import PROBLEM
from rmeval.tasks.validation import (
    RowCheck,
    collect_rows,
    gc_paused,
    prompt_problem,
    split_prompt,
    text_problem,
)


def preference_examples(
    rows: list[dict[str, Any]],
    *,
    source: str,
    allow_empty: bool = False,
    min_rejected: int = 1,
    check: RowCheck | None = None,
) -> list[Example]:
    """Validate preference rows and turn them into examples (chosen first, then rejected).

    Every problem is collected, then one ``DataError`` lists them by row id; with ``check``
    (rows read in chunks) the problems are left in it instead.
    """
    one_rejected = min_rejected <= 1

    def convert(row: dict[str, Any], rid: str) -> Example | list[str]:
        prompt, chosen, rejected = row.get("prompt"), row.get("chosen"), row.get("rejected")
        if (  # the common row, three plain texts with no problem: what the checks below give
            one_rejected
            and type(prompt) is str
            and type(chosen) is str
            and type(rejected) is str
            and chosen != rejected
            and prompt.strip()
            and (allow_empty or (chosen.strip() and rejected.strip()))
            and PROBLEM not in row
        ):
            subset = row.get("subset")
            subset = "default" if subset in (None, "") else str(subset)
            return Example(rid, subset, prompt, (chosen, rejected), 1, row.get("reference"))
        return _checked_example(row, rid, allow_empty=allow_empty, min_rejected=min_rejected)

    with gc_paused():
        if check is not None:
            return check.convert(rows, convert)
        return collect_rows(rows, source=source, convert=convert)


def _checked_example(
    row: dict[str, Any], rid: str, *, allow_empty: bool, min_rejected: int
) -> Example | list[str]:
    """The example of any preference row, or its problems."""
    if PROBLEM in row:  # a row preference_formats.normalise could not convert
        return [row[PROBLEM]]
    problems = _row_problems(row, allow_empty=allow_empty, min_rejected=min_rejected)
    if problems:
        return problems
    chosen = row["chosen"] if isinstance(row["chosen"], list) else [row["chosen"]]
    rejected = row["rejected"] if isinstance(row["rejected"], list) else [row["rejected"]]
    prompt, context = split_prompt(row["prompt"])
    return Example(
        id=rid,
        subset="default" if row.get("subset") in (None, "") else str(row["subset"]),
        prompt=prompt,
        candidates=tuple(chosen + rejected),
        n_chosen=len(chosen),
        reference=row.get("reference"),
        context=context,
    )


def _row_problems(row: dict[str, Any], *, allow_empty: bool, min_rejected: int) -> list[str]:
    problems = []
    for name in ("prompt", "chosen", "rejected"):
        if row.get(name) is None:
            problems.append(f"missing field '{name}'")
    if problems:
        return problems
    if (p := prompt_problem(row["prompt"])) is not None:
        problems.append(p)
    texts: dict[str, list[Any]] = {}
    for name in ("chosen", "rejected"):
        value = row[name]
        items = value if isinstance(value, list) else [value]
        if not items:
            problems.append(f"field '{name}' is an empty list")
        for j, item in enumerate(items):
            where = f"'{name}'" if not isinstance(value, list) else f"'{name}[{j}]'"
            if (p := text_problem(item, where, allow_empty=allow_empty)) is not None:
                problems.append(p)
        texts[name] = items
    if len(texts["chosen"]) != 1:
        problems.append(
            f"field 'chosen' must hold exactly one response, not {len(texts['chosen'])}"
        )
    if len(texts["rejected"]) < min_rejected:
        problems.append(f"needs at least {min_rejected} rejected responses")
    if not problems and any(c == r for c in texts["chosen"] for r in texts["rejected"]):
        problems.append("chosen and rejected are identical")
    return problems


class PreferenceTask(Task):
    """Base for tasks whose rows are preference rows (validation shared)."""

    min_rejected: ClassVar[int] = 1
    columns: dict[str, str] = {}
    """The data's column for each standard field (none renamed by default)."""
    samples_view: ClassVar[dict[str, Any] | None] = {
        "wrong": "credit<1",
        "margin": "best_rejected_minus_worst_chosen",
        "candidates": "chosen/rejected",
        "n_chosen": 1,
    }

    def __init__(self, streaming: bool | str = False, **kwargs: Any) -> None:
        stream = parse_bool(streaming, "--task-args streaming")
        if stream and type(self).load_rows is not Task.load_rows:
            raise RmevalError(
                f"--task-args streaming=true: task '{self.name}' loads its own data; streaming "
                f"applies to the pairwise and best-of-n tasks."
            )
        super().__init__(
            **kwargs, **({"streaming": True} if stream else {})
        )  # params: only when on
        self.streaming = stream
        self._format: str | None = None
        """The data's format, recognised from its first row."""

    def row_source(self) -> RowSource:
        """The rows; a hub dataset is streamed with ``streaming=true`` (see ``open_rows``)."""
        if self.data is None:
            return super().row_source()
        return open_rows(
            self.data,
            revision=self.revision,
            split=self.split,
            limit=self.limit,
            streaming=self.streaming,
        )

    def build_examples(self, rows: list[dict[str, Any]]) -> list[Example]:
        """Rows in any recognised format (the format is recorded in ``dataset.format``)."""
        return self.build_example_chunk(rows, None)

    def build_example_chunk(
        self, rows: list[dict[str, Any]], check: RowCheck | None
    ) -> list[Example]:
        """The examples of some rows (see :meth:`Task.build_example_chunk`); the format is
        recognised from the first row of the data and kept for later chunks."""
        later = check is not None and check.rows > 0
        fmt, rows = preference_formats.normalise(
            rows, self.columns, self._format if later else None
        )
        self._format = fmt
        if self.dataset is not None:
            self.dataset = dataclasses.replace(self.dataset, format=fmt)
        return preference_examples(
            rows,
            source=self.data or self.name,
            allow_empty=self.allow_empty_responses,
            min_rejected=self.min_rejected,
            check=check,
        )


class PreferenceFileTask(PreferenceTask):
    """A preference task over any file or hub dataset: columns mapped, a hub config chosen."""

    def __init__(
        self,
        *,
        chosen: str | None = None,
        rejected: str | None = None,
        prompt: str | None = None,
        id: str | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        mapping = {"chosen": chosen, "rejected": rejected, "prompt": prompt, "id": id}
        self.columns = preference_formats.check_columns(mapping)
        """``--task-args chosen=COL,...``: the data's column for each standard field."""
        self.config_name = name
        """``--task-args name=CONFIG``: the hub dataset's configuration."""
        if name is not None and type(self).load_rows is not Task.load_rows:
            raise RmevalError(
                f"--task-args name={name}: {self.name} loads its own rows, which have no "
                f"dataset configuration; drop it."
            )
        given = self.columns | ({"name": name} if name is not None else {})
        super().__init__(**kwargs, **given)

    def row_source(self) -> RowSource:
        """Rows as :meth:`PreferenceTask.row_source` reads them, a hub dataset in config
        ``name``."""
        if self.config_name is None:
            return super().row_source()
        if self.data is None or is_local_data(self.data):
            raise RmevalError(
                f"--task-args name={self.config_name}: a dataset configuration applies to a hub "
                f"dataset only, not {self.data or 'generated rows'}; drop it."
            )
        return open_rows(
            self.data,
            revision=self.revision,
            split=self.split,
            name=self.config_name,
            limit=self.limit,
            streaming=self.streaming,
        )


class PairwiseTask(JudgedTask, PreferenceFileTask):
    """Accuracy of preferring the chosen response over each rejected one."""

    judge_protocol = "pairwise"
    streams = True
    kept_extras = (attribute_table.KEY,)

    name = "pairwise"
    main_score = "accuracy"
    default_split = "train"

    def __init__(self, ties: str = "strict", **kwargs: Any) -> None:
        if ties not in {"strict", "half"}:
            raise RmevalError(f"--task-args ties={ties}: use 'strict' or 'half'.")
        super().__init__(ties=ties, **kwargs)
        self.ties = ties

    def evaluate(self, example: Example, scores: Sequence[Score]) -> ExampleResult:
        values = [s.value for s in scores]
        if len(values) == 2 and not scores[0].attributes:  # one pair, no attribute table
            credit, tie, invalid = pairwise_credit(values[0], values[1], self.ties)  # type: ignore[arg-type]
            # every field positional (truncated, text_hashes, extra): twice as fast as keywords
            return ExampleResult(
                example.id, example.subset, values, credit, tie, invalid, False, [], {}
            )
        chosen, rejected = values[0], values[1:]
        outcomes = [pairwise_credit(chosen, r, self.ties) for r in rejected]  # type: ignore[arg-type]
        invalid = any(o[2] for o in outcomes)
        credit = None if invalid else sum(o[0] for o in outcomes) / len(outcomes)  # type: ignore[misc]
        by_attribute = attribute_table.attribute_credit(scores, self.ties)
        return ExampleResult(
            example.id,
            example.subset,
            values,
            credit,
            tie=any(o[1] for o in outcomes),
            invalid=invalid,
            extra={attribute_table.KEY: by_attribute} if by_attribute else {},
        )

    def aggregate(
        self, results: Sequence[ExampleResult] | ResultColumns, seed: int = 0
    ) -> Aggregate:
        """Mean credit (see :meth:`Task.aggregate`), plus ``tables.by_attribute`` for a
        multi-attribute reward model."""
        agg = super().aggregate(results, seed)
        table = attribute_table.by_attribute(results, seed)
        if table:
            agg.tables["by_attribute"] = table
        return agg


class BestOfNTask(JudgedTask, PreferenceFileTask):
    """Credit 1/k when the chosen response ties k-ways for the top score, else 0.

    ``aggregate=min|last|mean|product|sum`` (one or more) scores each candidate step by step
    with a process reward model (see :mod:`rmeval.tasks.process.best_of_n`)."""

    judge_protocol = "choice"
    streams = True

    name = "best-of-n"
    main_score = "accuracy"
    default_split = "train"
    min_rejected = 2

    def __init__(self, aggregate: str | None = None, **kwargs: Any) -> None:
        from rmeval.harness.steps import parse_aggregations

        super().__init__(**({"aggregate": aggregate} if aggregate is not None else {}), **kwargs)
        self.aggregations = () if aggregate is None else parse_aggregations(aggregate)
        self.uses_step_scores = bool(self.aggregations)
        self.streams = not self.aggregations  # step aggregations read every result

    def requests(self, example: Example) -> list[ScoreRequest]:
        if not self.aggregations:
            return super().requests(example)
        from rmeval.tasks.process.best_of_n import step_requests

        return step_requests(example)

    def evaluate(self, example: Example, scores: Sequence[Score]) -> ExampleResult:
        if self.aggregations:
            from rmeval.tasks.process.best_of_n import evaluate

            return evaluate(example, scores, self.aggregations)
        values = [s.value for s in scores]
        credit, tie, invalid = best_of_n_credit(values)
        return ExampleResult(
            example.id, example.subset, values, credit, tie, invalid, False, [], {}
        )

    def aggregate(
        self, results: Sequence[ExampleResult] | ResultColumns, seed: int = 0
    ) -> Aggregate:
        agg = super().aggregate(results, seed)
        if not self.aggregations:
            return agg
        from rmeval.tasks.process.best_of_n import add_metrics

        return add_metrics(agg, results, self.aggregations, seed)


def pairwise(**kwargs: Any) -> PairwiseTask:
    """Pairwise accuracy on any preference file (``--data pairwise=PATH_OR_HUB_ID``)."""
    return PairwiseTask(**kwargs)


def best_of_n(**kwargs: Any) -> BestOfNTask:
    """Best-of-n accuracy on any file with one chosen and several rejected responses."""
    return BestOfNTask(**kwargs)
