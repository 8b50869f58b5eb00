"""Numbers and tables as display strings (the templates escape them)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

NA = "n/a"


def fmt(value: Any) -> str:
    """A number for display: integers as integers (also a whole float of 2 or more, a count such
    as ``n_train=160.0``), else 3 decimals (1 above 100); ``n/a`` when missing."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return NA if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return NA
    if value.is_integer() and abs(value) >= 2:
        return str(int(value))
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.3f}"


def fmt_ci(lo: Any, hi: Any) -> str:
    """``lo–hi`` or an empty string when the CI is unknown."""
    if lo is None or hi is None or any(isinstance(x, float) and math.isnan(x) for x in (lo, hi)):
        return ""
    return f"{fmt(lo)}–{fmt(hi)}"


def fmt_params(n: Any) -> str:
    """A parameter count as 1.2K / 3.4M / 7.0B."""
    if n is None or isinstance(n, float) and math.isnan(n):
        return NA
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(int(n))


@dataclass
class SimpleTable:
    """A titled table of strings (rendered escaped)."""

    title: str
    headers: list[str]
    rows: list[list[str]]
    marks: set[tuple[int, int]] = field(default_factory=set)
    """(row, column) cells to highlight (e.g. each model's worst master key)."""
    note: str = ""
