"""The main table's view model: header groups, columns and cells as plain strings.

Column order: Rank and Model (sticky while scrolling), the overall view (mean rank, tasks
covered), each task's main score (with its rank) then its sections / subsets (collapsed by
default), and the model's metadata last, so a phone shows scores before metadata.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rmeval.leaderboard.table import BoardTable, Column
from rmeval.leaderboard.views import NA, fmt, fmt_ci, fmt_params, task_title

PLURAL = {"section": "sections", "difficulty": "difficulty", "dimension": "dimensions",
          "attribute": "attributes", "subset": "subsets", "metric": "metrics"}  # fmt: skip
ABOUT = ("Type", "Params", "dtype", "Revision")


@dataclass
class Cell:
    """One table cell: its text, CI, sort key, mark (★ leader, ≈ tied) and tooltip."""

    text: str
    ci: str = ""
    order: str = ""
    mark: str = ""
    title: str = ""
    cls: str = ""
    rank: str = ""
    """A main score's rank among the models that have the task (e.g. ``#2``)."""


@dataclass
class Header:
    """One column header."""

    label: str
    cls: str
    title: str = ""
    group: int = 0
    """Index of its header group (column spans follow the visible columns)."""
    desc: bool = False
    """Sorted descending on the first click (higher is better)."""
    hidden: bool = False


@dataclass
class Group:
    label: str
    span: int
    title: str = ""
    cls: str = ""


@dataclass
class IndexView:
    groups: list[Group]
    headers: list[Header]
    rows: list[dict[str, Any]]
    toggles: list[tuple[str, str]]
    """(css class of the columns, button label); all collapsed at first."""
    types: list[str]
    config: dict[str, Any]
    sort_label: str = ""


def _score_cell(table: BoardTable, slug: str, col: Column, cls: str) -> Cell:
    value = table.value.at[slug, col.key]
    if math.isnan(value):
        last = "-1e300" if col.higher_is_better else "1e300"
        return Cell(NA, order=last, cls=f"{cls} na", title="no result for this model")
    lo, hi = table.lo.at[slug, col.key], table.hi.at[slug, col.key]
    ci = fmt_ci(None if math.isnan(lo) else lo, None if math.isnan(hi) else hi)
    rank = int(table.rank.at[slug, col.key])
    mark, title = "", f"rank {rank}"
    paired = (table.paired or {}).get((slug, col.key)) if col.kind == "main" else None
    if table.leader.at[slug, col.key]:
        mark, title = "★", title + "; leader"
    elif table.tied.at[slug, col.key] and paired is not None:
        mark = "≈"
        title += (
            f"; paired comparison with the leader on {paired.n} shared items: difference "
            f"{fmt(paired.diff)}, 95% CI {fmt_ci(*paired.ci95)} contains 0: statistically tied"
        )
    elif table.tied.at[slug, col.key]:
        mark, title = "≈", title + "; 95% CI overlaps the leader's: statistically tied"
    if ci:
        title += f"; 95% CI {ci}"
    badge = f"#{rank}" if col.kind == "main" else ""
    return Cell(fmt(value), ci=ci, order=repr(float(value)), mark=mark, title=title, cls=cls,
                rank=badge)  # fmt: skip


def _position_cell(table: BoardTable, slug: str) -> Cell:
    if table.sort_key is not None:
        r = table.rank.at[slug, table.sort_key]
        mark = "≈" if table.tied.at[slug, table.sort_key] else ""
    else:
        r, mark = table.overall.position[slug], ""
    if math.isnan(r):
        return Cell(NA, order="1e9", cls="sticky rank na")
    return Cell(str(int(r)), order=str(int(r)), mark=mark, cls="sticky rank")


def _overall_cells(table: BoardTable, slug: str) -> list[Cell]:
    ov = table.overall
    mean, n, points = ov.mean_rank[slug], int(ov.n_tasks[slug]), int(ov.points[slug])
    total = sum(c.kind == "main" for c in table.columns)
    beat = Cell(str(points), order=str(points), cls="overall",
                title="Borda points: models it beats, summed over tasks")  # fmt: skip
    if math.isnan(mean):
        return [beat, Cell(NA, order="1e9", cls="overall na"), Cell("0", order="0", cls="overall")]
    tip = f"mean of its ranks over the {n} of {total} tasks it has"
    return [
        beat,
        Cell(f"{mean:.2f}", order=repr(float(mean)), cls="overall", title=tip),
        Cell(f"{n}/{total}", order=str(n), cls="overall", title=f"{n} of {total} tasks"),
    ]


def col_class(col: Column, index: dict[str, int]) -> str:
    """CSS classes of a score column (``x-<task>-<kind>`` names a collapsible block)."""
    if col.kind == "main":
        return "score main"
    kind = "subset" if col.kind == "subset" else "detail"
    return f"score {kind} x-{index[col.task_key]}-{col.kind}"


def _headers(table: BoardTable, meta: dict[str, Any], index: dict[str, int]) -> list[Header]:
    by_rank = "the task named by site.default_sort" if table.sort_key else "Borda points"
    headers = [
        Header("Rank", "sticky rank", f"position by {by_rank}"),
        Header("Model", "sticky model", "display name (full spec in leaderboard.json)"),
        Header("Borda ↑", "overall", "models beaten, summed over tasks", group=1, desc=True),
        Header("Mean rank ↓", "overall", "mean of its per-task ranks", group=1),
        Header("Tasks", "overall", "tasks covered", group=1, desc=True),
    ]
    for col in table.columns:
        arrow = "↑" if col.higher_is_better else "↓"
        label = task_title(col.task_key, meta) if col.kind == "main" else col.label
        tip = f"{col.label} ({col.kind}); {'higher' if col.higher_is_better else 'lower'} is better"
        headers.append(Header(f"{label} {arrow}", col_class(col, index), tip,
                              group=2 + index[col.task_key], desc=col.higher_is_better,
                              hidden=col.kind != "main"))  # fmt: skip
    about = 2 + len(index)
    headers += [Header(h, "about", group=about) for h in ABOUT]
    return headers


def index_view(table: BoardTable, meta: dict[str, Any], pages: dict[str, str]) -> IndexView:
    """Everything the main table template needs."""
    task_keys = list(dict.fromkeys(c.task_key for c in table.columns))
    index = {k: i for i, k in enumerate(task_keys)}
    tmeta = meta.get("tasks", {})
    headers = _headers(table, meta, index)
    groups = [Group("", 2, cls="sticky"), Group("Overall", 3, "Borda points and mean rank")]
    groups += [
        Group(task_title(k, meta), sum(c.task_key == k for c in table.columns),
              (tmeta.get(k.split("@")[0]) or {}).get("description", ""))
        for k in task_keys
    ]  # fmt: skip
    groups.append(Group("About the model", len(ABOUT)))
    toggles: list[tuple[str, str]] = []
    for col in table.columns:
        cls = col_class(col, index).split()[-1]
        if col.kind != "main" and all(cls != t[0] for t in toggles):
            toggles.append((cls, f"{task_title(col.task_key, meta)}: {PLURAL[col.kind]}"))
    rows = [_row(table, slug, pages[slug], index) for slug in table.order]
    return IndexView(
        groups=groups, headers=headers, rows=rows, toggles=toggles,
        types=sorted({str(t) for t in table.models["type"]}),
        config={"numeric": [0, 2, 3, 4, *range(5, 5 + len(table.columns)), 6 + len(table.columns)]},
        sort_label=task_title(table.sort_key, meta) if table.sort_key
        else "Borda points (models beaten, summed over tasks), then mean rank",
    )  # fmt: skip


def _row(table: BoardTable, slug: str, page: str, index: dict[str, int]) -> dict[str, Any]:
    m = table.models.loc[slug]
    rev = m["revision"] if isinstance(m["revision"], str) else NA
    about = [
        Cell(str(m["type"]), cls="about"),
        Cell(fmt_params(m["n_parameters"]), order=_num_order(m["n_parameters"]), cls="about"),
        Cell(str(m["dtype"]) if isinstance(m["dtype"], str) else NA, cls="about"),
        Cell(rev, cls="about"),
    ]
    cells = [_score_cell(table, slug, c, col_class(c, index)) for c in table.columns]
    org = m["organisation"] if isinstance(m["organisation"], str) else ""
    search = " ".join((str(m["name"]), str(m["type"]), org, slug))
    return {"slug": slug, "page": page, "type": str(m["type"]), "search": search,
            "name": str(m["name"]), "org": org, "position": _position_cell(table, slug),
            "cells": _overall_cells(table, slug) + cells + about}  # fmt: skip


def _num_order(n: Any) -> str:
    return "-1" if n is None or isinstance(n, float) and math.isnan(n) else str(int(n))
