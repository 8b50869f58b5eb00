"""Plotly figure specs (plain dicts) drawn from the same data as the table.

Only figures whose data exist are returned. Every label that reaches plotly goes through
:func:`plot_text`: plotly renders a small HTML subset (``<b>``, ``<a href>``) in SVG text,
so ``<``, ``>`` and ``&`` are escaped as entities and the text shows literally.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from rmeval.leaderboard.loading import Run
from rmeval.leaderboard.table import BoardTable

CONFIG = {"displaylogo": False, "responsive": True}
DEFAULT_STYLES = ["concise", "detailed plain", "detailed markdown"]


@dataclass(frozen=True)
class Figure:
    """One chart: an element id, a heading, a caption and the plotly ``{data, layout}``."""

    id: str
    title: str
    caption: str
    spec: dict[str, Any]


def plot_text(text: Any) -> str:
    """A label plotly shows literally (its pseudo-HTML neutralised)."""
    s = str(text)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def key_label(key: str) -> str:
    """A master-key string made visible (quoted, so " " and "." can be told apart)."""
    return json.dumps(key, ensure_ascii=False)


def _num(x: Any) -> float | None:
    ok = isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
    return float(x) if ok else None


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    base = {"title": {"text": plot_text(title)}, "margin": {"l": 150, "r": 30, "t": 60, "b": 90}}
    base.update(extra)
    return base


def _selector(names: list[str], traces_per_item: int = 1) -> list[dict[str, Any]]:
    """A dropdown that shows one item's traces at a time (no custom JS needed)."""
    if len(names) < 2:
        return []
    total = len(names) * traces_per_item
    buttons = []
    for i, name in enumerate(names):
        visible = [i * traces_per_item <= t < (i + 1) * traces_per_item for t in range(total)]
        buttons.append(
            {"label": plot_text(name), "method": "restyle", "args": [{"visible": visible}]}
        )
    return [{"buttons": buttons, "x": 0, "y": 1.15, "xanchor": "left", "yanchor": "top"}]


def probe_profiles(runs: list[Run], names: dict[str, str]) -> list[Figure]:
    """Grouped bars per probe dimension, one bar per model, with CI error bars."""
    figures = []
    for task_key in sorted({r.task_key for r in runs if _table(r, "dimensions")}):
        traces = []
        for run in sorted((r for r in runs if r.task_key == task_key), key=lambda r: r.slug):
            dims = _table(run, "dimensions")
            labels = sorted(dims)
            acc, plus, minus = _errors([dims[d] or {} for d in labels])
            traces.append({
                "type": "bar", "name": plot_text(names.get(run.slug, run.slug)),
                "x": [plot_text(d) for d in labels], "y": acc,
                "error_y": {"type": "data", "array": plus, "arrayminus": minus, "visible": True},
            })  # fmt: skip
        figures.append(Figure(
            id=f"probe-{task_key}", title=f"Probe accuracy by dimension ({task_key})",
            caption="Linear-probe accuracy per dimension with 95% CIs.",
            spec={"data": traces, "layout": _layout(
                "Probe accuracy by dimension", barmode="group",
                yaxis={"title": {"text": "accuracy"}, "range": [0, 1]})},
        ))  # fmt: skip
    return figures


def _errors(entries: list[dict[str, Any]]) -> tuple[list, list, list]:
    """(accuracy, CI distance above, CI distance below) per probe-dimension entry."""
    acc, plus, minus = [], [], []
    for entry in entries:
        a = _num(entry.get("accuracy"))
        ci = entry.get("ci95") or [None, None]
        lo, hi = (_num(ci[0]), _num(ci[1])) if len(ci) == 2 else (None, None)
        acc.append(a)
        plus.append(None if a is None or hi is None else hi - a)
        minus.append(None if a is None or lo is None else a - lo)
    return acc, plus, minus


def _table(run: Run, name: str) -> Any:
    block = (run.data.get("tables") or {}).get(name)
    return block if isinstance(block, dict) and block else None


def style_heatmaps(runs: list[Run], names: dict[str, str], styles: list[str]) -> list[Figure]:
    """RM-Bench 3x3 style matrix (chosen style x rejected style), mean over domains."""
    chosen = sorted((r for r in runs if _table(r, "style_matrix")), key=lambda r: r.slug)
    if not chosen:
        return []
    traces, labels = [], []
    for i, run in enumerate(chosen):
        mats = [np.asarray(m, dtype=float) for m in _table(run, "style_matrix").values()]
        z = np.nanmean(np.stack(mats), axis=0) if mats else np.full((3, 3), np.nan)
        axis = [plot_text(s) for s in (styles if len(styles) == z.shape[1] else range(z.shape[1]))]
        label = names.get(run.slug, run.slug)
        labels.append(label)
        traces.append({
            "type": "heatmap", "z": [[_num(v) for v in row] for row in z], "x": axis, "y": axis,
            "zmin": 0, "zmax": 1, "colorscale": "Viridis", "texttemplate": "%{z:.2f}",
            "name": plot_text(label), "visible": i == 0,
        })  # fmt: skip
    layout = _layout(
        "RM-Bench style matrix (mean over domains)",
        xaxis={"title": {"text": "rejected response style"}},
        yaxis={"title": {"text": "chosen response style"}, "autorange": "reversed"},
        updatemenus=_selector(labels),
    )
    return [
        Figure(
            "rmbench-style",
            "RM-Bench style matrix",
            _pick(labels),
            {"data": traces, "layout": layout},
        )
    ]


def _pick(labels: list[str]) -> str:
    return "Pick a model in the menu." if len(labels) > 1 else ""


def master_key_grids(runs: list[Run], names: dict[str, str]) -> list[Figure]:
    """Master-key grid (key x dataset) per model; the metric named in the grid."""
    chosen = sorted((r for r in runs if _table(r, "grid")), key=lambda r: r.slug)
    if not chosen:
        return []
    traces, labels, metric = [], [], "value"
    for i, run in enumerate(chosen):
        grid = _table(run, "grid")
        metric = str(grid.get("metric", metric))
        label = names.get(run.slug, run.slug)
        labels.append(label)
        traces.append({
            "type": "heatmap", "name": plot_text(label), "visible": i == 0,
            "z": [[_num(v) for v in row] for row in grid.get("values", [])],
            "x": [plot_text(d) for d in grid.get("datasets", [])],
            "y": [plot_text(key_label(k)) for k in grid.get("keys", [])],
            "zmin": 0, "zmax": 1, "colorscale": "Reds", "texttemplate": "%{z:.2f}",
        })  # fmt: skip
    layout = _layout(
        f"Master-key {metric} (key x dataset)",
        xaxis={"title": {"text": "dataset"}},
        yaxis={"title": {"text": "master key"}, "autorange": "reversed"},
        updatemenus=_selector(labels),
    )
    return [
        Figure("master-keys", "Master-key grid", _pick(labels), {"data": traces, "layout": layout})
    ]


def clustered_order(matrix: np.ndarray) -> list[int]:
    """Leaf order of average-linkage clustering (optimal leaf order); identity if not possible."""
    n = matrix.shape[0]
    if n < 3 or not np.isfinite(matrix).all():
        return list(range(n))
    from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
    from scipy.spatial.distance import squareform

    sym = (matrix + matrix.T) / 2.0
    np.fill_diagonal(sym, 0.0)
    condensed = squareform(np.clip(sym, 0.0, None), checks=False)
    tree = optimal_leaf_ordering(linkage(condensed, method="average"), condensed)
    return [int(i) for i in leaves_list(tree)]


def distance_heatmaps(compare: dict[str, Any] | None, names: dict[str, str]) -> list[Figure]:
    """STARC and EPIC distance matrices between models, rows/columns in clustered order."""
    if not compare:
        return []
    figures = []
    for kind in ("starc", "epic"):
        raw = compare.get(kind)
        if raw is None:
            continue
        matrix = np.array(
            [[_num(v) if _num(v) is not None else np.nan for v in row] for row in raw]
        )
        order = clustered_order(matrix)
        labels = [plot_text(names.get(compare["models"][i], compare["models"][i])) for i in order]
        z = [[_num(matrix[i, j]) for j in order] for i in order]
        trace = {"type": "heatmap", "z": z, "x": labels, "y": labels, "colorscale": "Blues",
                 "reversescale": True, "texttemplate": "%{z:.2f}"}  # fmt: skip
        layout = _layout(f"{kind.upper()} distance between models", yaxis={"autorange": "reversed"})
        caption = "Rows and columns in average-linkage cluster order; 0 = same reward ordering."
        figures.append(Figure(f"distance-{kind}", f"{kind.upper()} distances", caption,
                              {"data": [trace], "layout": layout}))  # fmt: skip
    return figures


def size_scatter(table: BoardTable) -> list[Figure]:
    """Main score vs number of parameters, one trace per task (log-scale x)."""
    sizes = table.models["n_parameters"]
    traces = []
    for col in (c for c in table.columns if c.kind == "main"):
        pts = [
            (float(sizes[s]), float(table.value.at[s, col.key]), str(table.models.at[s, "name"]))
            for s in table.value.index
            if _num(sizes[s]) is not None and _num(table.value.at[s, col.key]) is not None
        ]
        if pts:
            traces.append({
                "type": "scatter", "mode": "markers", "name": plot_text(col.task_key),
                "x": [p[0] for p in pts], "y": [p[1] for p in pts],
                "text": [plot_text(p[2]) for p in pts], "marker": {"size": 10},
            })  # fmt: skip
    if not traces:
        return []
    layout = _layout(
        "Main score vs model size",
        xaxis={"type": "log", "title": {"text": "parameters"}},
        yaxis={"title": {"text": "main score"}},
    )
    caption = "Models without a known parameter count (baselines) are left out."
    return [
        Figure("size-scatter", "Score vs model size", caption, {"data": traces, "layout": layout})
    ]


def build_figures(
    table: BoardTable, runs: list[Run], compare: dict[str, Any] | None, meta: dict[str, Any]
) -> list[Figure]:
    """Every figure whose data exist, in a fixed order."""
    names = {str(s): str(table.models.at[s, "name"]) for s in table.models.index}
    styles = (meta.get("tasks", {}).get("rmbench") or {}).get("styles") or DEFAULT_STYLES
    return [
        *probe_profiles(runs, names),
        *style_heatmaps(runs, names, list(styles)),
        *master_key_grids(runs, names),
        *distance_heatmaps(compare, names),
        *size_scatter(table),
    ]
