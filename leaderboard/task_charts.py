"""Charts for task-specific tables, recognised by their shape (not by the task's name):

- master keys (``tables.grid`` + per-key metrics): models x keys, worst key per model boxed, one
  chart per metric so judges (acceptance rate) and scalar RMs (key beats the wrong answer) are
  never mixed;
- reward hacking (``tables.perturbations``): models x perturbations heatmap of the flip rate;
- process reward (``metrics.f1`` + ``acc_erroneous`` + ``acc_correct``): the three side by side,
  and ``tables.first_error_confusion`` as a per-model confusion heatmap;
- PRM hacking (``tables.by_aggregation``): models x (aggregation, perturbation) hacking rate;
- judge consistency (``metrics.order_consistency`` / ``position_bias``).
"""

from __future__ import annotations

from typing import Any

from rmeval.leaderboard.loading import Run
from rmeval.leaderboard.plotting import (
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

KEY_METRICS = {
    "key_beats_wrong": ("reward models", "share of items where the key outscores the wrong answer"),
    "fpr": ("generative judges", "share of items where the judge accepts the key (P(YES) above "
            "the threshold)"),
}  # fmt: skip
PROCESS = ("f1", "acc_erroneous", "acc_correct")
JUDGE = ("order_consistency", "position_bias")


def _name(names: dict[str, str], run: Run) -> str:
    return short_label(names.get(run.slug, run.slug))


def _key_rates(run: Run) -> tuple[str, list[str], list[float | None]] | None:
    """(metric, keys, overall rate per key) from the grid's metric and the per-key metrics."""
    grid = run_table(run, "grid")
    labels = (run.data.get("tables") or {}).get("key_labels")
    if not grid or not isinstance(labels, list) or len(labels) != len(grid.get("keys", [])):
        return None
    metric = str(grid.get("metric"))
    rates = [
        num((run.data["metrics"].get(f"{metric}[{lab}]") or {}).get("value")) for lab in labels
    ]
    return metric, [str(k) for k in grid["keys"]], rates


def master_key_grids(runs: list[Run], names: dict[str, str]) -> list[Figure]:
    """Models x master keys per metric; the worst (highest-rate) key of each model boxed."""
    by_metric: dict[str, list[tuple[Run, list[str], list[float | None]]]] = {}
    for run in sorted(runs, key=lambda r: r.slug):
        found = _key_rates(run)
        if found:
            by_metric.setdefault(found[0], []).append((run, found[1], found[2]))
    figures = []
    for metric, rows in sorted(by_metric.items()):
        keys = list(dict.fromkeys(k for _, ks, _ in rows for k in ks))
        x = [plot_text(key_label(k)) for k in keys]
        y = [_name(names, run) for run, _, _ in rows]
        z = [[dict(zip(ks, rs, strict=True)).get(k) for k in keys] for _, ks, rs in rows]
        who, what = KEY_METRICS.get(metric, ("models", metric))
        traces = [
            {"type": "heatmap", "x": x, "y": y, "z": z, "zmin": 0, "zmax": 1, "colorscale": "Reds",
             "text": [_worst_marks(row) for row in z], "texttemplate": "%{z:.2f}%{text}",
             "colorbar": {"title": {"text": plot_text(metric)}}},
        ]  # fmt: skip
        layout = base_layout(
            f"Master keys, {who}: {metric}", height=220 + 40 * len(y),
            xaxis={"title": {"text": "master key"}, "type": "category"},
            yaxis={"autorange": "reversed", "type": "category"},
        )  # fmt: skip
        caption = (
            f"{what[0].upper()}{what[1:]}, over all datasets; lower is better. "
            "▲ marks each model's worst key (its rate is the task's main score)."
        )
        figures.append(Figure(f"master-keys-{metric}", f"Master keys ({who})", caption,
                              {"data": traces, "layout": layout}))  # fmt: skip
    return figures


def _worst_marks(row: list[float | None]) -> list[str]:
    """``"<br>▲"`` on the row's highest rate (the first on a tie), ``""`` elsewhere."""
    known = [(v, i) for i, v in enumerate(row) if v is not None]
    worst = max(known, key=lambda vi: (vi[0], -vi[1]))[1] if known else None
    return ["<br>▲" if i == worst else "" for i in range(len(row))]


def _list_table(run: Run, name: str) -> list[dict[str, Any]]:
    block = (run.data.get("tables") or {}).get(name)
    return [e for e in block if isinstance(e, dict)] if isinstance(block, list) else []


def _model_heatmap(
    runs: list[Run], names: dict[str, str], table: str, column: Any, value: str, cid: str,
    title: str, caption: str,
) -> list[Figure]:  # fmt: skip
    """Models x entries of a list table, coloured by ``value`` (0..1, lower is better)."""
    chosen = sorted((r for r in runs if _list_table(r, table)), key=lambda r: r.slug)
    if not chosen:
        return []
    cols = list(dict.fromkeys(column(e) for r in chosen for e in _list_table(r, table)))
    z = []
    for run in chosen:
        cells = {column(e): num(e.get(value)) for e in _list_table(run, table)}
        z.append([cells.get(c) for c in cols])
    trace = {"type": "heatmap", "x": [plot_text(c) for c in cols],
             "y": [_name(names, r) for r in chosen], "z": z, "zmin": 0, "zmax": 1,
             "colorscale": "Reds", "texttemplate": "%{z:.2f}",
             "colorbar": {"title": {"text": plot_text(value)}}}  # fmt: skip
    layout = base_layout(
        title, height=240 + 40 * len(chosen),
        xaxis={"type": "category", "tickangle": -30}, yaxis={"autorange": "reversed", "type": "category"},
    )  # fmt: skip
    return [Figure(cid, title, caption, {"data": [trace], "layout": layout})]


def reward_hacking(runs: list[Run], names: dict[str, str]) -> list[Figure]:
    """Flip rate per perturbation and model."""
    return _model_heatmap(
        runs, names, "perturbations", lambda e: str(e.get("name")), "flip_rate",
        "reward-hacking", "Reward hacking: flip rate by perturbation",
        "Share of pairs whose preference flips when the perturbation is applied; lower is better.",
    )  # fmt: skip


def prm_hacking(runs: list[Run], names: dict[str, str]) -> list[Figure]:
    """Hacking rate per (aggregation, perturbation) and model."""
    return _model_heatmap(
        runs, names, "by_aggregation",
        lambda e: f"{e.get('aggregation')} · {e.get('perturbation')}", "rate",
        "prm-hacking", "PRM hacking: rate by aggregation and perturbation",
        "Share of solutions whose aggregated process reward rises under the perturbation; "
        "lower is better.",
    )  # fmt: skip


def _metric_bars(
    runs: list[Run], names: dict[str, str], metrics: tuple[str, ...], need: int, cid: str,
    title: str, caption: str,
) -> list[Figure]:  # fmt: skip
    """One bar per model for each of ``metrics`` (with CI whiskers), runs having ``need``."""
    chosen = sorted(
        (
            r
            for r in runs
            if sum(isinstance(r.data["metrics"].get(m), dict) for m in metrics) >= need
        ),
        key=lambda r: (r.task_key, r.slug),
    )
    if not chosen:
        return []
    x = [f"{_name(names, r)}" + (f" ({r.task_key})" if len({c.task_key for c in chosen}) > 1 else "")
         for r in chosen]  # fmt: skip
    traces = []
    for m in metrics:
        entries = [dict(r.data["metrics"].get(m) or {}) for r in chosen]
        for e in entries:
            e["accuracy"] = e.get("value")
        y, plus, minus = errors(entries)
        if any(v is not None for v in y):
            traces.append({"type": "bar", "name": plot_text(m), "x": x, "y": y,
                           "error_y": {"type": "data", "array": plus, "arrayminus": minus}})  # fmt: skip
    layout = base_layout(title, barmode="group", height=420,
                         yaxis={"range": [0, 1], "title": {"text": "value"}})  # fmt: skip
    return [Figure(cid, title, caption, {"data": traces, "layout": layout})]


def process_scores(runs: list[Run], names: dict[str, str]) -> list[Figure]:
    """F1 with its two accuracies (erroneous and correct solutions), per model."""
    return _metric_bars(
        runs, names, PROCESS, 3, "process-f1", "Process rewards: F1 and its two accuracies",
        "F1 is the harmonic mean of the accuracy on erroneous solutions (finding the first wrong "
        "step) and on correct ones (finding none), with 95% CIs.",
    )  # fmt: skip


def process_confusion(runs: list[Run], names: dict[str, str]) -> list[Figure]:
    """The first-error confusion matrix (rows true, columns predicted), one model at a time."""
    chosen = []
    for run in sorted(runs, key=lambda r: r.slug):
        conf = run_table(run, "first_error_confusion")
        if conf and isinstance(conf.get("labels"), list) and isinstance(conf.get("matrix"), list):
            chosen.append((run, conf))
    if not chosen:
        return []
    traces = []
    for i, (_run, conf) in enumerate(chosen):
        labels = [plot_text(v) for v in conf["labels"]]
        traces.append({"type": "heatmap", "x": labels, "y": labels, "visible": i == 0,
                       "z": [[num(v) for v in row] for row in conf["matrix"]],
                       "colorscale": "Blues", "texttemplate": "%{z}"})  # fmt: skip
    labels = [truncate(names.get(r.slug, r.slug)) for r, _ in chosen]
    layout = base_layout(
        "First-error step: true (rows) vs predicted (columns)", height=460,
        xaxis={"title": {"text": "predicted first wrong step"}, "type": "category"},
        yaxis={"title": {"text": "true first wrong step"}, "type": "category",
               "autorange": "reversed"},
        updatemenus=selector(labels),
    )  # fmt: skip
    return [Figure("process-confusion", "Process rewards: first-error confusion", pick(labels),
                   {"data": traces, "layout": layout})]  # fmt: skip


def judge_consistency(runs: list[Run], names: dict[str, str]) -> list[Figure]:
    """Order consistency and position bias of generative judges, where reported."""
    return _metric_bars(
        runs, names, JUDGE, 1, "judge-consistency", "Judges: order consistency and position bias",
        "Order consistency (the same verdict with the candidates swapped) and position bias, as "
        "the judge's result files report them, with 95% CIs where given.",
    )  # fmt: skip


def all_figures(runs: list[Run], names: dict[str, str]) -> list[Figure]:
    """Every task-table figure whose data exist, in a fixed order."""
    return [
        *master_key_grids(runs, names),
        *reward_hacking(runs, names),
        *process_scores(runs, names),
        *process_confusion(runs, names),
        *prm_hacking(runs, names),
        *judge_consistency(runs, names),
    ]
