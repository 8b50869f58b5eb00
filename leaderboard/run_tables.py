"""A result file's ``by_subset`` and ``tables`` as readable string tables for its model page.

Known shapes get their own layout: sections / difficulty / dimensions / attributes (value with
CI and n), RM-Bench's style matrices (hard / normal / easy labelled), the master-key grid (worst
key highlighted, CIs beside values), probe accuracy by layer, lists of records (reward-hacking
perturbations, PRM-hacking aggregations: one row per record, CI pairs as ``lo–hi``) and
``{labels, matrix}`` confusion matrices. Anything else is shown as name / value rows, numbers
formatted (integers as integers), never as raw nested JSON.
"""

from __future__ import annotations

import json
from typing import Any

from rmeval.leaderboard.formatting import SimpleTable, fmt, fmt_ci
from rmeval.leaderboard.plotting import key_label
from rmeval.leaderboard.table import TABLE_KINDS

SHOWN_ELSEWHERE = {"grid_ci95", "key_labels"}
"""Tables folded into another table (the grid's CIs) or only naming things."""


def task_tables(d: dict[str, Any], styles: list[str] | None = None) -> list[SimpleTable]:
    """Subsets and every task-specific table of a result file, as string tables."""
    out = _subsets(d)
    tables = d.get("tables") or {}
    for kind, name, field_name in TABLE_KINDS:
        block = tables.get(name)
        if isinstance(block, dict) and block:
            rows = [[k, *_entry(v, field_name)] for k, v in sorted(block.items())]
            title = name.replace("_", " ").capitalize()
            out.append(SimpleTable(title, [kind, "value", "95% CI", "n", "other"], rows))
    out += _style_matrices(tables, styles)
    out += _key_grid(tables)
    out += _layers(tables)
    known = {name for _, name, _ in TABLE_KINDS} | {"style_matrix", "grid", "layers"}
    scalars = []
    for name in sorted(set(tables) - known - SHOWN_ELSEWHERE):
        block = tables[name]
        if isinstance(block, list) and block and all(isinstance(e, dict) for e in block):
            out.append(records_table(_title(name), block))
        elif isinstance(block, dict) and {"labels", "matrix"} <= set(block):
            out.append(confusion_table(_title(name), block))
        elif isinstance(block, dict):
            out.append(SimpleTable(_title(name), ["key", "value"],
                                   [[str(k), _text(v)] for k, v in sorted(block.items())]))  # fmt: skip
        else:
            scalars.append([name.replace("_", " "), _text(block)])
    if scalars:
        out.append(SimpleTable("Other facts", ["name", "value"], scalars))
    return out


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _subsets(d: dict[str, Any]) -> list[SimpleTable]:
    subsets = d.get("by_subset") or {}
    if not subsets:
        return []
    main = d["task"]["main_score"]
    found = {m for s in subsets.values() if isinstance(s, dict) for m in s}
    names = ([main] if main in found else []) + sorted(found - {main})
    rows = [[s] + [_short((subsets[s] or {}).get(m)) for m in names] for s in sorted(subsets)]
    return [SimpleTable("Subsets", ["subset", *names], rows)]


def _entry(entry: Any, field_name: str = "value") -> list[str]:
    """[value, CI, n, other fields] of a ``{value|field, ci95, n, ...}`` entry or a number."""
    if not isinstance(entry, dict):
        return [fmt(entry), "", "", ""]
    value = entry.get(field_name, entry.get("value"))
    ci = fmt_ci(*(entry.get("ci95") or [None, None]))
    n = fmt(entry["n"]) if "n" in entry else ""
    other = ", ".join(f"{k.replace('_', ' ')} {fmt(v)}" for k, v in sorted(entry.items())
                      if k not in (field_name, "value", "ci95", "n"))  # fmt: skip
    return [fmt(value), ci, n, other]


def _short(entry: Any) -> str:
    """``value (n=N)`` of a subset entry."""
    if isinstance(entry, dict):
        n = f" (n={fmt(entry['n'])})" if "n" in entry else ""
        return fmt(entry.get("value")) + n
    return fmt(entry)


def _text(value: Any) -> str:
    """A value as text: numbers formatted, CI pairs as ``lo–hi``, short lists joined."""
    if isinstance(value, list) and len(value) == 2 and all(_is_num(v) for v in value):
        return fmt_ci(*value)
    if isinstance(value, list) and all(_is_num(v) or isinstance(v, str) for v in value):
        return ", ".join(fmt(v) if _is_num(v) else v for v in value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return fmt(value)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def records_table(title: str, records: list[dict[str, Any]]) -> SimpleTable:
    """One row per record; ``x_ci95`` fields shown beside ``x`` as ``x (lo–hi)``."""
    keys = list(dict.fromkeys(k for r in records for k in r if not k.endswith("_ci95")))
    rows = []
    for r in records:
        row = []
        for k in keys:
            ci = r.get(f"{k}_ci95")
            extra = f" ({fmt_ci(*ci)})" if isinstance(ci, list) and len(ci) == 2 else ""
            row.append(_text(r.get(k)) + extra if k in r else "")
        rows.append(row)
    heads = [k.replace("_", " ") + (" (95% CI)" if any(f"{k}_ci95" in r for r in records) else "")
             for k in keys]  # fmt: skip
    return SimpleTable(title, heads, rows)


def confusion_table(title: str, block: dict[str, Any]) -> SimpleTable:
    """A confusion matrix: rows the true label, columns the predicted one."""
    labels = [str(v) for v in block.get("labels") or []]
    rows = [[f"true: {labels[i] if i < len(labels) else i}", *(fmt(v) for v in row)]
            for i, row in enumerate(block.get("matrix") or [])]  # fmt: skip
    return SimpleTable(title, ["", *(f"predicted: {x}" for x in labels)], rows,
                       note="Rows: true label; columns: predicted label.")  # fmt: skip


def _style_matrices(tables: dict[str, Any], styles: list[str] | None) -> list[SimpleTable]:
    out = []
    for domain, matrix in sorted((tables.get("style_matrix") or {}).items()):
        names = (
            styles
            if styles and len(styles) == len(matrix)
            else [str(i) for i in range(len(matrix))]
        )
        rows = [
            [f"chosen: {names[i]}"] + [f"{fmt(v)} {_region(i, j)}" for j, v in enumerate(row)]
            for i, row in enumerate(matrix)
        ]
        heads = ["style"] + [f"rejected: {n}" for n in names]
        out.append(SimpleTable(f"Style matrix: {domain}", heads, rows,
                               note="hard: upper triangle · normal: diagonal · easy: lower triangle"))  # fmt: skip
    return out


def _region(row: int, col: int) -> str:
    return "(hard)" if row < col else "(normal)" if row == col else "(easy)"


def _key_grid(tables: dict[str, Any]) -> list[SimpleTable]:
    grid = tables.get("grid")
    if not (isinstance(grid, dict) and grid.get("keys")):
        return []
    cis = tables.get("grid_ci95") if isinstance(tables.get("grid_ci95"), list) else []
    rows, values = [], grid.get("values", [])
    for i, (key, vals) in enumerate(zip(grid["keys"], values, strict=False)):
        ci_row = cis[i] if i < len(cis) and isinstance(cis[i], list) else []
        cells = [fmt(v) + _ci_suffix(ci_row, j) for j, v in enumerate(vals)]
        rows.append([key_label(key), *cells])
    marks = set()
    for j in range(len(grid.get("datasets", []))):
        column = [(row[j], i) for i, row in enumerate(values) if j < len(row) and _is_num(row[j])]
        if column:
            marks.add((max(column, key=lambda vi: (vi[0], -vi[1]))[1], j + 1))
    heads = ["master key"] + [str(x) for x in grid.get("datasets", [])]
    return [SimpleTable(f"Master-key grid ({grid.get('metric', 'value')})", heads, rows, marks,
                        note="Highlighted: the worst key on each dataset.")]  # fmt: skip


def _ci_suffix(ci_row: list[Any], j: int) -> str:
    ci = ci_row[j] if j < len(ci_row) else None
    return f" ({fmt_ci(*ci)})" if isinstance(ci, list) and len(ci) == 2 else ""


def _layers(tables: dict[str, Any]) -> list[SimpleTable]:
    layers = tables.get("layers")
    if not (isinstance(layers, dict) and layers):
        return []
    cols = sorted({str(k) for v in layers.values() if isinstance(v, dict) for k in v}, key=_natural)
    rows = [[dim] + [fmt((v or {}).get(c)) for c in cols] for dim, v in sorted(layers.items())]
    return [SimpleTable("Probe accuracy by layer", ["dimension", *cols], rows)]


def _natural(text: str) -> tuple[int, str]:
    return (int(text), "") if text.lstrip("-").isdigit() else (10**9, text)
