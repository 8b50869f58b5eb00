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
from rmeval.leaderboard.table import TABLE_KINDS, task_rank

NA = "n/a"
_UNSAFE_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


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


def page_name(slug: str) -> str:
    """A file name for a model page that cannot escape ``models/`` (hash added if sanitised)."""
    safe = _UNSAFE_SLUG.sub("-", slug).strip(".-") or "model"
    if safe != slug:
        safe += "-" + hashlib.sha256(slug.encode()).hexdigest()[:8]
    return safe + ".html"


def task_title(task_key: str, meta: dict[str, Any]) -> str:
    """Display name of a task column group; a task split by dataset names the dataset's file
    (``meta["dataset_variants"]``, see :func:`display.variant_labels`), else its short hash."""
    task, _, short = task_key.partition("@")
    name = (meta.get("tasks", {}).get(task) or {}).get("display_name", task)
    if not short:
        return name
    return f"{name} ({(meta.get('dataset_variants') or {}).get(task_key, 'data ' + short)})"


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
