"""Plotly figure specs (plain dicts) drawn from the same data as the table.

Only figures whose data exist are returned. Every label that reaches plotly goes through
:func:`plot_text`: plotly renders a small HTML subset (``<b>``, ``<a href>``) in SVG text,
so ``<``, ``>`` and ``&`` are escaped as entities and the text shows literally.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rmeval.leaderboard import task_charts
from rmeval.leaderboard.loading import Run
from rmeval.leaderboard.plotting import (  # noqa: F401 (Figure, plot_text, key_label: public here)
    Figure,
    base_layout,
    errors,
    key_label,
    num,
    pick,
    plot_text,
    run_table,
    selector,
    short_label,
    truncate,
)
from rmeval.leaderboard.table import BoardTable

CONFIG = {"displaylogo": False, "responsive": True}
DISTANCE_RANGE = {"starc": 2.0, "epic": 1.0}
"""Upper end of each distance (STARC-L2 unscaled: [0, 2]; EPIC: [0, 1])."""
DEFAULT_STYLES = ["concise", "detailed plain", "detailed markdown"]


def probe_profiles(runs: list[Run], names: dict[str, str]) -> list[Figure]:
    """Probe accuracy per dimension as a dot plot (one colour per model, 95% CI whiskers), with
    each dimension's majority-class baseline drawn as a bar mark."""
    figures = []
    for task_key in sorted({r.task_key for r in runs if run_table(r, "dimensions")}):
        chosen = sorted((r for r in runs if r.task_key == task_key), key=lambda r: r.slug)
        labels = sorted({d for r in chosen for d in run_table(r, "dimensions") or {}})
        traces = []
        for run in chosen:
            dims = run_table(run, "dimensions") or {}
            acc, plus, minus = errors([dims.get(d) or {} for d in labels])
            traces.append({
                "type": "scatter", "mode": "markers", "name": short_label(names.get(run.slug, run.slug)),
                "y": [plot_text(d) for d in labels], "x": acc, "marker": {"size": 10},
                "error_x": {"type": "data", "array": plus, "arrayminus": minus, "visible": True},
            })  # fmt: skip
        base = [_baseline(chosen, d) for d in labels]
        if any(b is not None for b in base):
            traces.append({
                "type": "scatter", "mode": "markers", "name": "majority baseline",
                "y": [plot_text(d) for d in labels], "x": base,
                "marker": {"symbol": "line-ns-open", "size": 22, "color": "#333",
                           "line": {"width": 3}},
            })  # fmt: skip
        layout = base_layout(
            "Probe accuracy by dimension", height=200 + 45 * len(labels),
            xaxis={"title": {"text": "probe accuracy"}, "range": [0, 1]},
            yaxis={"autorange": "reversed", "type": "category"},
        )  # fmt: skip
        figures.append(Figure(
            id=f"probe-{task_key}", title=f"Probe accuracy by dimension ({task_key})",
            caption="Linear-probe accuracy per dimension with 95% CIs; the bar mark is the "
            "majority-class baseline (a probe must beat it to have learned anything).",
            spec={"data": traces, "layout": layout},
        ))  # fmt: skip
    return figures


def _baseline(runs: list[Run], dim: str) -> float | None:
    """The dimension's majority baseline (the label balance of its data: the first run's)."""
    for run in runs:
        value = num(((run_table(run, "dimensions") or {}).get(dim) or {}).get("majority_baseline"))
        if value is not None:
            return value
    return None


def style_heatmaps(runs: list[Run], names: dict[str, str], styles: list[str]) -> list[Figure]:
    """RM-Bench 3x3 style matrix (chosen style x rejected style), mean over domains."""
    chosen = sorted((r for r in runs if run_table(r, "style_matrix")), key=lambda r: r.slug)
    if not chosen:
        return []
    traces, labels = [], []
    for i, run in enumerate(chosen):
        mats = [np.asarray(m, dtype=float) for m in run_table(run, "style_matrix").values()]
        z = np.nanmean(np.stack(mats), axis=0) if mats else np.full((3, 3), np.nan)
        axis = [plot_text(s) for s in (styles if len(styles) == z.shape[1] else range(z.shape[1]))]
        label = names.get(run.slug, run.slug)
        labels.append(truncate(label))
        traces.append({
            "type": "heatmap", "z": [[num(v) for v in row] for row in z], "x": axis, "y": axis,
            "zmin": 0, "zmax": 1, "colorscale": "Viridis", "texttemplate": "%{z:.2f}<br>%{text}",
            "text": [[_region(r, c) for c in range(z.shape[1])] for r in range(z.shape[0])],
            "name": plot_text(label), "visible": i == 0,
        })  # fmt: skip
    layout = base_layout(
        "RM-Bench style matrix (mean over domains)",
        height=460,
        xaxis={"title": {"text": "rejected response style"}},
        yaxis={"title": {"text": "chosen response style"}, "autorange": "reversed"},
        updatemenus=selector(labels),
    )
    return [
        Figure(
            "rmbench-style",
            "RM-Bench style matrix",
            "Accuracy with the chosen response in the row's style against the rejected one in "
            "the column's: hard = upper triangle (chosen plainer than rejected), normal = the "
            "diagonal, easy = lower triangle. " + pick(labels),
            {"data": traces, "layout": layout},
        )
    ]


def _region(row: int, col: int) -> str:
    """RM-Bench's difficulty of a cell (chosen style row, rejected style column, plain first)."""
    return "hard" if row < col else "normal" if row == col else "easy"


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
        matrix = np.array([[num(v) if num(v) is not None else np.nan for v in row] for row in raw])
        order = clustered_order(matrix)
        labels = [short_label(names.get(compare["models"][i], compare["models"][i])) for i in order]
        z = [[num(matrix[i, j]) for j in order] for i in order]
        top = DISTANCE_RANGE[kind]
        trace = {"type": "heatmap", "z": z, "x": labels, "y": labels, "colorscale": "Blues",
                 "reversescale": True, "texttemplate": "%{z:.2f}", "zmin": 0, "zmax": top}  # fmt: skip
        layout = base_layout(f"{kind.upper()} distance between models", height=460,
                         yaxis={"autorange": "reversed"})  # fmt: skip
        source = compare.get("task")
        caption = (
            f"Range 0 (same rewards up to scale and shift) to {top:g} (opposite)"
            + (f"; computed on the shared items of {source}" if source else "")
            + ". Rows and columns in average-linkage cluster order."
        )
        figures.append(Figure(f"distance-{kind}", f"{kind.upper()} distances", caption,
                              {"data": [trace], "layout": layout}))  # fmt: skip
    return figures


def size_scatter(table: BoardTable, titles: dict[str, str]) -> list[Figure]:
    """Each task's main score against the number of parameters (log x), one task at a time
    (a menu picks it), its own metric and direction on the y axis."""
    sizes = table.models["n_parameters"]
    traces, labels = [], []
    for col in (c for c in table.columns if c.kind == "main"):
        pts = [
            (float(sizes[s]), float(table.value.at[s, col.key]), str(table.models.at[s, "name"]))
            for s in table.value.index
            if num(sizes[s]) is not None and num(table.value.at[s, col.key]) is not None
        ]
        if pts:
            label = titles.get(col.task_key, col.task_key)
            arrow = "higher" if col.higher_is_better else "lower"
            labels.append(f"{label}: {col.label} ({arrow} is better)")
            traces.append({
                "type": "scatter", "mode": "markers", "name": plot_text(label),
                "x": [p[0] for p in pts], "y": [p[1] for p in pts], "visible": not traces,
                "text": [plot_text(p[2]) for p in pts], "marker": {"size": 10},
                "hovertemplate": "%{text}<br>%{x:.3s} parameters<br>%{y:.3f}<extra></extra>",
            })  # fmt: skip
    if not traces:
        return []
    layout = base_layout(
        "Main score vs model size", height=440, showlegend=False,
        xaxis={"type": "log", "title": {"text": "parameters"}},
        yaxis={"title": {"text": plot_text(labels[0])}},
        updatemenus=selector(labels, y_titles=True),
    )  # fmt: skip
    caption = "One task at a time (pick it in the menu). Baselines without a parameter count are left out."
    return [
        Figure("size-scatter", "Score vs model size", caption, {"data": traces, "layout": layout})
    ]


def build_figures(
    table: BoardTable,
    runs: list[Run],
    compare: dict[str, Any] | None,
    meta: dict[str, Any],
    titles: dict[str, str] | None = None,
) -> list[Figure]:
    """Every figure whose data exist, in a fixed order."""
    names = {str(s): str(table.models.at[s, "name"]) for s in table.models.index}
    styles = (meta.get("tasks", {}).get("rmbench") or {}).get("styles") or DEFAULT_STYLES
    return [
        *probe_profiles(runs, names),
        *style_heatmaps(runs, names, list(styles)),
        *task_charts.all_figures(runs, names),
        *distance_heatmaps(compare, names),
        *size_scatter(table, titles or {}),
    ]
