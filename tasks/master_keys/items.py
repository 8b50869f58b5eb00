"""Items: (question, reference, correct answer, wrong answer) from the core suite or a file.

File rows (``--data master-keys=FILE``, local or hub) use these columns:

- ``question`` (or ``prompt``): the question, a non-empty string;
- ``reference`` (or ``answer``): the short correct answer, a non-empty string or a number;
- ``correct`` (optional): a real correct response; defaults to the reference itself;
- ``wrong`` (optional): a real wrong response; defaults to the reference of the next item in
  the same dataset whose reference differs (a terse but genuinely wrong answer);
- ``id`` (optional, unique; defaults to the row index) and ``dataset`` (or ``subset``;
  defaults to ``default``): the source dataset, one column of the key × dataset grid.

When both names of a column are present the first one listed wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rmeval.harness.data import DatasetInfo, rows_sha256
from rmeval.tasks.validation import convert_rows, raise_problems

VERIFIABLE_SUBSETS = ("math", "factual")
"""Core-suite subsets whose rows carry a short reference answer."""
BUILTIN_SOURCE = "builtin:core"
"""The source recorded for the built-in (core-suite) rows."""


@dataclass(frozen=True, slots=True)
class Item:
    """One verifiable question with a real correct and a real wrong answer."""

    id: str
    dataset: str
    question: str
    reference: str
    correct: str
    wrong: str
    wrong_from: str | None = None
    """Id of the item whose reference became this item's wrong answer (None: from the data)."""


def core_rows(split: str, seed: int, limit: int | None) -> list[dict[str, Any]]:
    """The core suite's math and factual rows as item rows (first ``limit`` of each dataset)."""
    from rmeval.tasks.core import generate_rows

    counts: dict[str, int] = {}
    out = []
    for row in generate_rows(split, seed):
        subset = row.get("subset")
        if subset not in VERIFIABLE_SUBSETS or row.get("reference") is None:
            continue
        counts[subset] = counts.get(subset, 0) + 1
        if limit is not None and counts[subset] > limit:
            continue
        out.append(
            {
                "id": row["id"],
                "dataset": subset,
                "question": row["prompt"],
                "reference": row["reference"],
                "correct": row["chosen"],
                "wrong": row["rejected"][0],  # the suite puts its hardest negative first
            }
        )
    return out


def builtin_rows(
    split: str | None, seed: int, limit: int | None
) -> tuple[list[dict[str, Any]], DatasetInfo]:
    """The core suite's item rows (split ``test`` unless given) and their dataset record."""
    split = split or "test"
    rows = core_rows(split, seed, limit)
    return rows, DatasetInfo(BUILTIN_SOURCE, None, split, rows_sha256(rows))


def _first(row: dict[str, Any], names: tuple[str, ...]) -> tuple[str, Any]:
    for name in names:
        if row.get(name) is not None:
            return name, row[name]
    return names[0], None


def _text(row: dict[str, Any], names: tuple[str, ...], *, required: bool, numbers: bool = False):
    """(value, problem) of the first present column in ``names``."""
    name, value = _first(row, names)
    if value is None:
        return None, (f"missing field '{' or '.join(names)}'" if required else None)
    if numbers and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None, f"field '{name}' is {type(value).__name__}, not a string"
    if not value.strip():
        return None, f"field '{name}' is empty"
    return value, None


def _parse_row(row: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    fields: dict[str, Any] = {}
    problems: list[str] = []
    specs = {
        "question": (("question", "prompt"), True, False),
        "reference": (("reference", "answer"), True, True),
        "correct": (("correct",), False, True),
        "wrong": (("wrong",), False, True),
        "dataset": (("dataset", "subset"), False, True),
    }
    for field, (names, required, numbers) in specs.items():
        value, problem = _text(row, names, required=required, numbers=numbers)
        fields[field] = value
        if problem:
            problems.append(problem)
    if not problems:
        fields["correct"] = fields["correct"] or fields["reference"]
        if fields["wrong"] is not None and fields["wrong"] == fields["correct"]:
            problems.append("'wrong' is identical to the correct answer")
    return fields, problems


def items_from_rows(rows: list[dict[str, Any]], *, source: str) -> list[Item]:
    """Validate item rows and fill missing wrong answers; one ``DataError`` lists every bad row."""

    def convert(row: dict[str, Any], rid: str) -> tuple[str, dict[str, Any]] | list[str]:
        fields, problems = _parse_row(row)
        return problems or (rid, fields)

    parsed, problems = convert_rows(rows, convert)
    items = _with_wrong_answers(parsed, problems)
    raise_problems(source, problems, items)
    return items


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def _with_wrong_answers(
    parsed: list[tuple[str, dict[str, Any]]], problems: list[str]
) -> list[Item]:
    """Items, with a missing wrong answer taken from the next differing reference (cyclic)."""
    by_dataset: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for rid, f in parsed:
        by_dataset.setdefault(f["dataset"] or "default", []).append((rid, f))
    built: dict[str, Item] = {}
    for dataset, group in by_dataset.items():
        lookup = dict(group)
        for at, (rid, f) in enumerate(group):
            wrong, wrong_from = f["wrong"], None
            if wrong is None:
                wrong_from = _next_other(group, at)
                if wrong_from is None:
                    problems.append(
                        f"row {rid}: no 'wrong' answer and no other item of dataset '{dataset}' "
                        f"has a different reference; add a 'wrong' column"
                    )
                    continue
                wrong = lookup[wrong_from]["reference"]
            built[rid] = Item(
                rid, dataset, f["question"], f["reference"], f["correct"], wrong, wrong_from
            )
    return [built[rid] for rid, _ in parsed if rid in built]


def _next_other(group: list[tuple[str, dict[str, Any]]], at: int) -> str | None:
    """Id of the next item (cyclic) whose reference differs from item ``at``'s answers."""
    own = group[at][1]
    ref = _normal(own["reference"])
    for step in range(1, len(group)):
        other_id, other = group[(at + step) % len(group)]
        if _normal(other["reference"]) != ref and other["reference"] != own["correct"]:
            return other_id
    return None
