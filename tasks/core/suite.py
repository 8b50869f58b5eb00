"""The core suite as tasks: ``core-pairwise`` (chosen vs the hardest rejected) and
``core-bon`` (best of four: chosen vs all three rejected).

Both generate their rows in code (no download) from ``seed`` and ``split``. Each sample line
carries ``length_controlled``, and the result's ``tables.length_controlled`` gives the main
score separately for rows where the better response is the shorter one and for the rest.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from rmeval.harness.data import DatasetInfo, rows_sha256
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import Aggregate, Example, ExampleResult, Score
from rmeval.tasks.core.generator import GENERATOR_VERSION, generate_rows
from rmeval.tasks.core.rows import check_split
from rmeval.tasks.preference import BestOfNTask, PairwiseTask, PreferenceTask

DATA_PATH = "builtin:core"


def _seed(seed: Any) -> int:
    """The seed as an int (a digit string from a config file or the command line is fine)."""
    if isinstance(seed, int) and not isinstance(seed, bool):
        return seed
    if isinstance(seed, str) and re.fullmatch(r"-?\d+", seed.strip()):
        return int(seed)
    raise RmevalError(f"seed={seed!r}: the core suite needs an integer seed.")


def core_rows(
    split: str, seed: int, limit: int | None, n_rejected: int
) -> tuple[list[dict[str, Any]], DatasetInfo]:
    """Generated rows with ``rejected`` cut to the first ``n_rejected``, and their provenance."""
    check_split(split)
    rows = [row | {"rejected": row["rejected"][:n_rejected]} for row in generate_rows(split, seed)]
    if limit is not None:
        rows = rows[:limit]
    info = DatasetInfo(DATA_PATH, f"generator-v{GENERATOR_VERSION}", split, rows_sha256(rows))
    return rows, info


class _CoreTask(PreferenceTask):
    """Shared behaviour of the core tasks (listed before the preference task class)."""

    n_rejected = 3

    def __init__(self, seed: int = 0, **kwargs: Any) -> None:
        seed = _seed(seed)
        super().__init__(seed=seed, **kwargs)
        self.seed = seed
        check_split(str(self.split))

    def load_rows(self) -> tuple[list[dict[str, Any]], DatasetInfo]:
        """The generated rows for this task's split and seed (``--data`` is not accepted)."""
        if self.data is not None:
            raise RmevalError(
                f"{self.name} generates its own rows; drop --data {self.name}=... "
                f"(evaluate a file with the 'pairwise' or 'best-of-n' task instead)."
            )
        return core_rows(str(self.split), self.seed, self.limit, self.n_rejected)

    def build_examples(self, rows: list[dict[str, Any]]) -> list[Example]:
        """Validated examples, each carrying its row's ``length_controlled`` flag in ``meta``."""
        examples = super().build_examples(rows)
        flags = {row["id"]: bool(row["length_controlled"]) for row in rows}
        return [
            dataclasses.replace(ex, meta={"length_controlled": flags[ex.id]}) for ex in examples
        ]

    def evaluate(self, example: Example, scores: Sequence[Score]) -> ExampleResult:
        """The preference task's result, with ``length_controlled`` added to the sample line."""
        result = super().evaluate(example, scores)
        result.extra["length_controlled"] = example.meta.get("length_controlled")
        return result

    def aggregate(self, results: Sequence[ExampleResult], seed: int = 0) -> Aggregate:
        """The standard aggregate plus ``tables.length_controlled`` {"true"|"false": {metric: {value, n}}}."""
        agg = super().aggregate(results, seed)
        metric = self.main_score
        table = {}
        for flag in (True, False):
            credits = [
                r.credit
                for r in results
                if r.credit is not None and r.extra.get("length_controlled") is flag
            ]
            value = float(np.mean(credits)) if credits else None
            table[str(flag).lower()] = {metric: {"value": value, "n": len(credits)}}
        agg.tables["length_controlled"] = table
        return agg


class CorePairwise(_CoreTask, PairwiseTask):
    """Pairwise accuracy on the core suite: chosen vs the hardest rejected response."""

    name = "core-pairwise"
    default_split = "test"
    n_rejected = 1


class CoreBestOfN(_CoreTask, BestOfNTask):
    """Best-of-4 accuracy on the core suite: chosen vs all three rejected responses."""

    name = "core-bon"
    default_split = "test"
    n_rejected = 3


def core_pairwise(**kwargs: Any) -> CorePairwise:
    """The core suite, pairwise form (``--task-args seed=N,split=train,ties=half``)."""
    return CorePairwise(**kwargs)


def core_best_of_n(**kwargs: Any) -> CoreBestOfN:
    """The core suite, best-of-4 form (``--task-args seed=N,split=train``)."""
    return CoreBestOfN(**kwargs)


def core_suite(**kwargs: Any) -> list[PairwiseTask | BestOfNTask]:
    """Both forms of the core suite; ``ties`` applies to the pairwise form only."""
    bon_kwargs = {k: v for k, v in kwargs.items() if k != "ties"}
    return [core_pairwise(**kwargs), core_best_of_n(**bon_kwargs)]
