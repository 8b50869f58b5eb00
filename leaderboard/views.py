"""View models: the table model and runs turned into plain strings for the templates.

Nothing here produces markup; the templates autoescape every string given to them.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from rmeval.leaderboard.charts import key_label
from rmeval.leaderboard.loading import Run
from rmeval.leaderboard.table import TABLE_KINDS, BoardTable, Column, task_rank

NA = "n/a"
META_HEADERS = ("Rank", "Model", "Type", "Params", "dtype", "Revision")
_PLURAL = {"section": "sections", "difficulty": "difficulty", "dimension": "dimensions",
           "attribute": "attributes", "subset": "subsets"}  # fmt: skip
_UNSAFE_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def fmt(value: Any) -> str:
    """A score for display: 3 decimals (1 above 100), ``n/a`` when missing."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return NA if value is None else str(value)
    if not math.isfinite(value):
        return NA
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


def page_name(slug: str) -> str:
    """A file name for a model page that cannot escape ``models/`` (hash added if sanitised)."""
    safe = _UNSAFE_SLUG.sub("-", slug).strip(".-") or "model"
    if safe != slug:
        safe += "-" + hashlib.sha256(slug.encode()).hexdigest()[:8]
    return safe + ".html"


def task_title(task_key: str, meta: dict[str, Any]) -> str:
    """Display name of a task column group, with the short dataset hash when split."""
    task, _, short = task_key.partition("@")
    name = (meta.get("tasks", {}).get(task) or {}).get("display_name", task)
    return f"{name} (data {short})" if short else name


@dataclass
class Cell:
    text: str
    ci: str = ""
    order: str = ""
    mark: str = ""
    title: str = ""
    cls: str = ""


@dataclass
class Group:
    label: str
    span: int
    title: str = ""


@dataclass
class IndexView:
    groups: list[Group]
    headers: list[tuple[str, str, str]]
    """(label, css classes, title) per column, model columns first."""
    rows: list[dict[str, Any]]
    toggles: list[tuple[str, str]]
    """(css class of the columns, button label)."""
    types: list[str]
    config: dict[str, Any]
    sort_label: str = ""


def _score_cell(table: BoardTable, slug: str, col: Column) -> Cell:
    value = table.value.at[slug, col.key]
    if math.isnan(value):
        last = "-1e300" if col.higher_is_better else "1e300"
        return Cell(NA, order=last, cls="na", title="no result for this model")
    lo, hi = table.lo.at[slug, col.key], table.hi.at[slug, col.key]
    ci = fmt_ci(None if math.isnan(lo) else lo, None if math.isnan(hi) else hi)
    mark, title = "", f"rank {int(table.rank.at[slug, col.key])}"
    if table.leader.at[slug, col.key]:
        mark, title = "★", title + "; leader"
    elif table.tied.at[slug, col.key]:
        mark, title = "≈", title + "; 95% CI overlaps the leader's: statistically tied"
    if ci:
        title += f"; 95% CI {ci}"
    return Cell(fmt(value), ci=ci, order=repr(float(value)), mark=mark, title=title)


def _rank_cell(table: BoardTable, slug: str) -> Cell:
    key = table.sort_key
    if key is None or math.isnan(table.rank.at[slug, key]):
        return Cell(NA, order="1e9", cls="na")
    rank = int(table.rank.at[slug, key])
    mark = "≈" if table.tied.at[slug, key] else ""
    return Cell(str(rank), order=str(rank), mark=mark)


def _col_class(col: Column, index: dict[str, int]) -> str:
    if col.kind == "main":
        return "score main"
    return (
        f"score {'subset' if col.kind == 'subset' else 'detail'} x-{index[col.task_key]}-{col.kind}"
    )


def index_view(table: BoardTable, meta: dict[str, Any], pages: dict[str, str]) -> IndexView:
    """Everything the main table template needs."""
    task_keys = list(dict.fromkeys(c.task_key for c in table.columns))
    index = {k: i for i, k in enumerate(task_keys)}
    tmeta = meta.get("tasks", {})
    groups = [Group("Model", len(META_HEADERS))]
    groups += [
        Group(task_title(k, meta), sum(c.task_key == k for c in table.columns),
              (tmeta.get(k.split("@")[0]) or {}).get("description", ""))
        for k in task_keys
    ]  # fmt: skip
    headers = [(h, "meta", "") for h in META_HEADERS]
    for col in table.columns:
        arrow = "↑" if col.higher_is_better else "↓"
        label = task_title(col.task_key, meta) if col.kind == "main" else col.label
        tip = f"{col.label} ({col.kind}); {'higher' if col.higher_is_better else 'lower'} is better"
        headers.append((f"{label} {arrow}", _col_class(col, index), tip))
    toggles = []
    for col in table.columns:
        cls = _col_class(col, index).split()[-1]
        if col.kind != "main" and all(cls != t[0] for t in toggles):
            toggles.append((cls, f"{task_title(col.task_key, meta)}: {_PLURAL[col.kind]}"))
    rows = [_row(table, slug, pages[slug]) for slug in table.order]
    return IndexView(
        groups=groups, headers=headers, rows=rows, toggles=toggles,
        types=sorted({str(t) for t in table.models["type"]}),
        config=_config(table, index),
        sort_label=task_title(table.sort_key, meta) if table.sort_key else "",
    )  # fmt: skip


def _row(table: BoardTable, slug: str, page: str) -> dict[str, Any]:
    m = table.models.loc[slug]
    rev = m["revision"] if isinstance(m["revision"], str) else NA
    meta_cells = [
        _rank_cell(table, slug),
        Cell(str(m["name"]), order=str(m["name"])),
        Cell(str(m["type"])),
        Cell(fmt_params(m["n_parameters"]), order=_num_order(m["n_parameters"])),
        Cell(str(m["dtype"]) if isinstance(m["dtype"], str) else NA),
        Cell(rev),
    ]
    cells = [_score_cell(table, slug, c) for c in table.columns]
    search = " ".join((str(m["name"]), str(m["spec"]), str(m["type"]), slug))
    return {"slug": slug, "page": page, "type": str(m["type"]), "search": search,
            "meta": meta_cells, "cells": cells}  # fmt: skip


def _num_order(n: Any) -> str:
    return "-1" if n is None or isinstance(n, float) and math.isnan(n) else str(int(n))


def _config(table: BoardTable, index: dict[str, int]) -> dict[str, Any]:
    """DataTables options that depend on the data: sort directions, hidden columns, order."""
    first = len(META_HEADERS)
    sequences = [{"targets": i + first, "orderSequence": ["desc", "asc"]}
                 for i, c in enumerate(table.columns) if c.higher_is_better]  # fmt: skip
    hidden = [i + first for i, c in enumerate(table.columns) if c.kind == "subset"]
    numeric = [0, 3] + [i + first for i in range(len(table.columns))]
    return {"columnDefs": sequences, "hidden": hidden, "numeric": numeric, "order": [[0, "asc"]]}


@dataclass
class SimpleTable:
    """A titled table of strings (rendered escaped)."""

    title: str
    headers: list[str]
    rows: list[list[str]]


@dataclass
class RunView:
    title: str
    description: str
    metrics: SimpleTable
    counts: list[tuple[str, str]]
    provenance: list[tuple[str, str]]
    tables: list[SimpleTable] = field(default_factory=list)
    hardest: list[Any] = field(default_factory=list)
    has_panel: bool = False
    """The task declares which sample lines are wrong (else no hardest-examples panel)."""
    panel_note: str = ""
    """What the panel lists and in which order (from the task's samples view)."""
    has_texts: bool = False


def run_view(run: Run, meta: dict[str, Any], hardest: list[Any] | None) -> RunView:
    """Everything the model page shows about one result file (``hardest`` None: no panel)."""
    d, task = run.data, run.data["task"]
    metrics = SimpleTable("Metrics", ["metric", "value", "95% CI", "n"], [
        [name, fmt(m.get("value")), fmt_ci(*(m.get("ci95") or [None, None])), str(m.get("n", ""))]
        for name, m in sorted(d["metrics"].items()) if isinstance(m, dict)
    ])  # fmt: skip
    ds = task.get("dataset") or {}
    h = d.get("harness") or {}
    provenance = [
        ("harness version", str(h.get("version"))), ("harness commit", str(h.get("git_commit"))),
        ("task version", str(task.get("version"))),
        ("task params", json.dumps(task.get("params"), sort_keys=True, ensure_ascii=False)),
        ("dataset path", str(ds.get("path"))), ("dataset revision", str(ds.get("revision"))),
        ("dataset split", str(ds.get("split"))), ("dataset sha256", str(ds.get("sha256"))),
        ("model fingerprint", str(d["model"].get("fingerprint"))),
        ("started at", str(d.get("started_at"))), ("duration (s)", str(d.get("duration_s"))),
    ]  # fmt: skip
    counts = [(k, str(v)) for k, v in sorted((d.get("counts") or {}).items())]
    description = (meta.get("tasks", {}).get(task["name"]) or {}).get("description", "")
    return RunView(
        title=task_title(run.task_key, meta), description=description, metrics=metrics,
        counts=counts, provenance=provenance,
        tables=task_tables(d, (meta.get("tasks", {}).get(task["name"]) or {}).get("styles")),
        hardest=hardest or [], has_panel=hardest is not None,
        panel_note=run.view.summary if run.view else "",
        has_texts=any(x.stored_texts for x in hardest or []),
    )  # fmt: skip


def task_tables(d: dict[str, Any], styles: list[str] | None = None) -> list[SimpleTable]:
    """Subsets and every known task-specific table of a result file, as string tables."""
    out = []
    subsets = d.get("by_subset") or {}
    names = sorted({m for s in subsets.values() if isinstance(s, dict) for m in s})
    if subsets:
        rows = [
            [s] + [_entry_text((subsets[s] or {}).get(m)) for m in names] for s in sorted(subsets)
        ]
        out.append(SimpleTable("Subsets", ["subset", *names], rows))
    tables = d.get("tables") or {}
    for kind, name, field_name in TABLE_KINDS:
        block = tables.get(name)
        if isinstance(block, dict) and block:
            rows = [[k, _entry_text(v, field_name)] for k, v in sorted(block.items())]
            out.append(SimpleTable(name.replace("_", " ").capitalize(), [kind, "value"], rows))
    out += _matrix_tables(tables, styles)
    known = {name for _, name, _ in TABLE_KINDS} | {"style_matrix", "grid", "layers"}
    for name in sorted(set(tables) - known):  # a task's own tables: shown as compact JSON
        rows = [[str(k), _compact(v)] for k, v in sorted(_items(tables[name]))]
        out.append(SimpleTable(name.replace("_", " ").capitalize(), ["key", "value"], rows))
    return out


def _items(block: Any) -> list[tuple[str, Any]]:
    if isinstance(block, dict):
        return [(str(k), v) for k, v in block.items()]
    return [("value", block)]


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def _entry_text(entry: Any, field_name: str = "value") -> str:
    if isinstance(entry, dict):
        value = entry.get(field_name, entry.get("value"))
        extra = [fmt_ci(*(entry.get("ci95") or [None, None]))]
        extra += [f"n={entry['n']}"] if "n" in entry else []
        extra += [f"{k}={fmt(v)}" for k, v in sorted(entry.items())
                  if k not in (field_name, "value", "ci95", "n")]  # fmt: skip
        return " ".join([fmt(value)] + [e for e in extra if e])
    return fmt(entry)


def _matrix_tables(tables: dict[str, Any], styles: list[str] | None) -> list[SimpleTable]:
    out = []
    for domain, matrix in sorted((tables.get("style_matrix") or {}).items()):
        names = (
            styles
            if styles and len(styles) == len(matrix)
            else [str(i) for i in range(len(matrix))]
        )
        rows = [[f"chosen: {names[i]}"] + [fmt(v) for v in row] for i, row in enumerate(matrix)]
        heads = ["style"] + [f"rejected: {n}" for n in names]
        out.append(SimpleTable(f"Style matrix: {domain}", heads, rows))
    grid = tables.get("grid")
    if isinstance(grid, dict) and grid.get("keys"):
        rows = [[key_label(k)] + [fmt(v) for v in vals]
                for k, vals in zip(grid["keys"], grid.get("values", []), strict=False)]  # fmt: skip
        heads = ["master key"] + [str(x) for x in grid.get("datasets", [])]
        out.append(SimpleTable(f"Master-key grid ({grid.get('metric', 'value')})", heads, rows))
    layers = tables.get("layers")
    if isinstance(layers, dict) and layers:
        cols = sorted(
            {str(k) for v in layers.values() if isinstance(v, dict) for k in v}, key=_natural
        )
        rows = [[dim] + [fmt((v or {}).get(c)) for c in cols] for dim, v in sorted(layers.items())]
        out.append(SimpleTable("Probe accuracy by layer", ["dimension", *cols], rows))
    return out


def _natural(text: str) -> tuple[int, str]:
    return (int(text), "") if text.lstrip("-").isdigit() else (10**9, text)


def model_runs(runs: list[Run], slug: str, meta: dict[str, Any]) -> list[Run]:
    """One model's runs in table order."""
    mine = [r for r in runs if r.slug == slug]
    return sorted(mine, key=lambda r: task_rank(r.task_key, meta))
