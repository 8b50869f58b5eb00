"""Rows converted to examples chunk by chunk: positions, duplicate ids and problems run on
from one chunk to the next (a task's ``build_example_chunk`` fills one :class:`RowCheck`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def row_id(row: dict[str, Any], index: int) -> str:
    """The row's ``id`` as a string, or its position when it has none."""
    return str(row["id"]) if row.get("id") is not None else str(index)


class RowCheck:
    """Row conversion that continues across chunks of one dataset: row positions (the id of a
    row without one) and duplicate ids run on from chunk to chunk, problems are collected."""

    def __init__(self, duplicates: bool = True) -> None:
        self.rows = 0
        """Rows converted so far."""
        self.problems: list[str] = []
        self._seen: set[str] | None = set() if duplicates else None

    def convert(
        self, rows: list[dict[str, Any]], convert: Callable[[dict[str, Any], str], T | list[str]]
    ) -> list[T]:
        """Apply ``convert(row, id)`` to every row; it returns the converted value or a list of
        problems. Duplicate ids and problems are kept, prefixed with ``row <id>:``."""
        values: list[T] = []
        seen = self._seen
        for i, row in enumerate(rows, self.rows):
            rid = row_id(row, i)
            if seen is not None:
                if rid in seen:
                    self.problems.append(f"row {rid}: duplicate id")
                    continue
                seen.add(rid)
            out = convert(row, rid)
            if isinstance(out, list):
                self.problems.extend(f"row {rid}: {p}" for p in out)
            else:
                values.append(out)
        self.rows += len(rows)
        return values
