"""Per-example outcomes as columns: what the credit metrics read, a few bytes an example.

A streamed run (see :mod:`rmeval.harness.streamed`) writes each ``ExampleResult`` to its samples
file as soon as it is evaluated and keeps only this: credit, tie/invalid/truncated flags, a
subset code, and the extra fields its task names (``Task.kept_extras``).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from rmeval.harness.records import ExampleResult

_TIE, _INVALID, _TRUNCATED = 1, 2, 4


class ResultColumns:
    """Outcomes of the examples in data order; built by :meth:`append` or :meth:`of`."""

    def __init__(self, kept_extras: Sequence[str] = ()) -> None:
        self._credit = array("d")  # NaN where the credit is None (invalid)
        self._valid = array("B")
        self._flags = array("B")
        self._subset = array("I")
        self._codes: dict[str, int] = {}
        self._kept = tuple(kept_extras)
        self._extras: list[dict[str, Any]] = []

    @classmethod
    def of(cls, results: Iterable[ExampleResult], kept_extras: Sequence[str] = ()) -> ResultColumns:
        """The columns of a list of results."""
        columns = cls(kept_extras)
        for r in results:
            columns.append(r)
        return columns

    def append(self, r: ExampleResult) -> None:
        """Keep one result's outcome (the result itself may then be dropped)."""
        valid = r.credit is not None
        self._credit.append(r.credit if valid else float("nan"))  # type: ignore[arg-type]
        self._valid.append(valid)
        self._flags.append(_TIE * r.tie | _INVALID * r.invalid | _TRUNCATED * r.truncated)
        self._subset.append(self._codes.setdefault(r.subset, len(self._codes)))
        if self._kept:
            kept = {k: r.extra[k] for k in self._kept if k in r.extra}
            if kept:
                self._extras.append(kept)

    def __len__(self) -> int:
        return len(self._credit)

    def credits(self) -> np.ndarray:
        """The credits of the valid examples, in data order."""
        credit = np.frombuffer(self._credit, dtype=float) if len(self) else np.empty(0)
        return credit[self._valid_mask()]

    def _valid_mask(self) -> np.ndarray:
        return np.frombuffer(self._valid, dtype=np.uint8).astype(bool)

    def counts(self) -> dict[str, int]:
        """Examples, ties, invalid and truncated, as every result file carries them."""
        flags = np.frombuffer(self._flags, dtype=np.uint8) if len(self) else np.empty(0, np.uint8)
        return {
            "examples": len(self),
            "ties": int(np.count_nonzero(flags & _TIE)),
            "invalid": int(np.count_nonzero(flags & _INVALID)),
            "truncated": int(np.count_nonzero(flags & _TRUNCATED)),
        }

    def subset_credits(self) -> dict[str, np.ndarray]:
        """Each subset's valid credits in data order (a subset without any: an empty array)."""
        if not len(self):
            return {}
        codes = np.frombuffer(self._subset, dtype=np.uint32)
        credit, valid = np.frombuffer(self._credit, dtype=float), self._valid_mask()
        return {name: credit[(codes == code) & valid] for name, code in self._codes.items()}

    def extras(self, key: str) -> Iterator[Any]:
        """The kept ``extra[key]`` values, in data order (examples without one left out)."""
        return (e[key] for e in self._extras if key in e)


def as_columns(results: Sequence[ExampleResult] | ResultColumns) -> ResultColumns:
    """``results`` as columns (columns are returned as they are)."""
    return results if isinstance(results, ResultColumns) else ResultColumns.of(results)
