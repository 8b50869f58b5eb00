"""Shape checks of the result-file fields that ``compare`` and the leaderboard read.

A field of the wrong shape (a CI of three numbers, a string where a number belongs, a table
that is not a table) is refused with one sentence naming the file and the field, before any
page is built; fields the board does not read are left alone.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NoReturn

from rmeval.harness.errors import RmevalError

REGENERATE = "regenerate the file with `rmeval run`"
ENTRY_TABLES = ("sections", "difficulty")
"""``tables`` blocks of label -> number or {value, ci95, n}."""
ACCURACY_TABLES = ("dimensions", "by_attribute")
"""``tables`` blocks of label -> {accuracy, ci95, ...}."""
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if is_number(value):
        return f"the number {value!r}"
    return {dict: "an object", list: "a list"}.get(type(value), f"a {type(value).__name__}")


def is_number(value: Any) -> bool:
    """A JSON number (booleans are not numbers)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


class Fields:
    """Checks on one file's fields; each failure is one sentence naming file and field."""

    def __init__(self, path: Path, fix: str = REGENERATE) -> None:
        self.path = path
        self.fix = fix

    def fail(self, where: str, problem: str) -> NoReturn:
        raise RmevalError(f"{self.path}: field {where} {problem}; {self.fix}.")

    def obj(self, value: Any, where: str, optional: bool = False) -> dict[str, Any]:
        """An object ({} when optional and absent)."""
        if value is None and optional:
            return {}
        if not isinstance(value, dict):
            self.fail(where, f"must be an object, not {_kind(value)}")
        return value

    def number(self, value: Any, where: str, optional: bool = True) -> float | None:
        if value is None and optional:
            return None
        if not is_number(value):
            self.fail(
                where, f"must be a number{' or null' if optional else ''}, not {_kind(value)}"
            )
        return float(value)

    def count(self, value: Any, where: str) -> int | None:
        if value is not None and not (isinstance(value, int) and not isinstance(value, bool)):
            self.fail(where, f"must be a whole number or null, not {_kind(value)}")
        if value is not None and value < 0:
            self.fail(where, f"must not be negative ({value})")
        return value

    def text(self, value: Any, where: str, optional: bool = True) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value:
            self.fail(where, f"must be a non-empty string, not {_kind(value)}")
        return value

    def ci(self, value: Any, where: str) -> None:
        if value is None:
            return
        if not (isinstance(value, list) and len(value) == 2 and all(map(is_number, value))):
            self.fail(where, f"must be [low, high] (two numbers) or null, not {value!r:.60}")
        if value[0] > value[1]:
            self.fail(where, f"has its low bound above its high bound ({value[0]} > {value[1]})")

    def entry(self, value: Any, where: str, field: str = "value") -> None:
        """A number, null, or ``{field: number|null, ci95: [lo, hi]|null, n: count}``."""
        if value is None or is_number(value):
            return
        entry = self.obj(value, where)
        self.number(entry.get(field, entry.get("value")), f"{where}.{field}")
        self.ci(entry.get("ci95"), f"{where}.ci95")
        self.count(entry.get("n"), f"{where}.n")

    def matrix(
        self, value: Any, where: str, rows: int | None = None, cols: int | None = None
    ) -> None:
        """A list of ``rows`` lists of ``cols`` numbers (or nulls); sizes free when None."""
        shape = f"a {rows}x{cols} matrix" if rows is not None and cols is not None else "a matrix"
        if not isinstance(value, list) or (rows is not None and len(value) != rows):
            self.fail(where, f"must be {shape} (a list of rows of numbers)")
        width = cols if cols is not None else (len(value[0]) if value else 0)
        for i, row in enumerate(value):
            if not isinstance(row, list) or len(row) != width:
                self.fail(f"{where}[{i}]", f"must be a list of {width} numbers ({shape})")
            for j, cell in enumerate(row):
                self.number(cell, f"{where}[{i}][{j}]")


def validate_result(path: Path, data: dict[str, Any]) -> None:
    """Refuse a result file any field of which the board reads has the wrong shape."""
    f = Fields(path)
    inputs = data.get("inputs")
    if inputs is not None and not (isinstance(inputs, str) and SHA256_HEX.fullmatch(inputs)):
        f.fail("inputs", f"must be a sha256 (64 hex digits) or null, not {_kind(inputs)}")
    _model(f, f.obj(data.get("model"), "model"))
    _task(f, f.obj(data.get("task"), "task"))
    metrics = f.obj(data.get("metrics"), "metrics")
    for name, metric in metrics.items():
        f.entry(f.obj(metric, f"metrics.{name}"), f"metrics.{name}")
    main = data["task"]["main_score"]
    if main not in metrics:
        f.fail("metrics", f"has no entry for the main score {main!r}")
    for subset, block in f.obj(data.get("by_subset"), "by_subset", optional=True).items():
        for name, entry in f.obj(block, f"by_subset.{subset}").items():
            f.entry(entry, f"by_subset.{subset}.{name}")
    for name, value in f.obj(data.get("counts"), "counts", optional=True).items():
        f.count(value, f"counts.{name}")
    _tables(f, f.obj(data.get("tables"), "tables", optional=True))


def _model(f: Fields, model: dict[str, Any]) -> None:
    f.text(model.get("spec"), "model.spec", optional=False)
    for name in ("type", "dtype", "revision"):
        f.text(model.get(name), f"model.{name}")
    f.count(model.get("n_parameters"), "model.n_parameters")


def _task(f: Fields, task: dict[str, Any]) -> None:
    f.text(task.get("name"), "task.name", optional=False)
    f.text(task.get("main_score"), "task.main_score", optional=False)
    hib = task.get("higher_is_better")
    if hib is not None and not isinstance(hib, bool):
        f.fail("task.higher_is_better", f"must be true or false, not {_kind(hib)}")
    dataset = f.obj(task.get("dataset"), "task.dataset")
    f.text(dataset.get("sha256"), "task.dataset.sha256", optional=False)


def _tables(f: Fields, tables: dict[str, Any]) -> None:
    for name in ENTRY_TABLES:
        for label, entry in f.obj(tables.get(name), f"tables.{name}", optional=True).items():
            f.entry(entry, f"tables.{name}.{label}")
    for name in ACCURACY_TABLES:
        for label, entry in f.obj(tables.get(name), f"tables.{name}", optional=True).items():
            f.entry(f.obj(entry, f"tables.{name}.{label}"), f"tables.{name}.{label}", "accuracy")
    _style_matrices(f, f.obj(tables.get("style_matrix"), "tables.style_matrix", optional=True))
    grid = f.obj(tables.get("grid"), "tables.grid", optional=True)
    if grid:
        keys, datasets = grid.get("keys"), grid.get("datasets")
        for name, items in (("keys", keys), ("datasets", datasets)):
            if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
                f.fail(f"tables.grid.{name}", "must be a list of strings")
        f.matrix(grid.get("values"), "tables.grid.values", len(keys), len(datasets))
        if grid.get("metric") is not None:
            f.text(grid.get("metric"), "tables.grid.metric")
    for dim, layers in f.obj(tables.get("layers"), "tables.layers", optional=True).items():
        for layer, value in f.obj(layers, f"tables.layers.{dim}").items():
            f.number(value, f"tables.layers.{dim}.{layer}")


def _style_matrices(f: Fields, block: dict[str, Any]) -> None:
    """Square matrices of one size (the chart averages them over domains)."""
    sizes = set()
    for domain, m in block.items():
        where = f"tables.style_matrix.{domain}"
        f.matrix(m, where)
        if not m or len(m) != len(m[0]):
            f.fail(
                where, f"must be a square matrix (chosen styles x rejected styles), not {m!r:.60}"
            )
        sizes.add(len(m))
        if len(sizes) > 1:
            f.fail(where, "must have the size of the other domains' matrices")
