"""The leaderboard's table model: one row per model, one column per score (pure pandas).

Columns are a task's main score, then its sections / dimensions / difficulty levels /
attributes, then its subsets. Each cell has a value and, where known, a 95% CI. Missing
results stay NaN (shown as "n/a", never 0). Ranks are competition ranks ("1224"). On a main
score a model is *tied* with the leader when the paired comparison on shared items finds no
significant difference (:mod:`rmeval.leaderboard.paired`); on a section or subset column, when
its CI overlaps the leader's. Rows follow the overall mean rank (:mod:`.overall`) unless the
metadata's ``site.default_sort`` names a task.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from rmeval.leaderboard.display import model_meta, short_spec
from rmeval.leaderboard.loading import Run
from rmeval.leaderboard.overall import Overall, overall
from rmeval.leaderboard.paired import PairedTie, paired_ties

# (kind, tables key, value field inside a dict entry); order = column order inside a task.
TABLE_KINDS = (
    ("section", "sections", "value"),
    ("difficulty", "difficulty", "value"),
    ("dimension", "dimensions", "accuracy"),
    ("attribute", "by_attribute", "accuracy"),
)
MODEL_FIELDS = ("name", "type", "spec", "n_parameters", "dtype", "revision", "link",
                "organisation", "base_model", "license", "date")  # fmt: skip


@dataclass(frozen=True)
class Column:
    """One score column of the main table."""

    key: str
    """Unique id: ``<task key>`` for the main score, ``<task key>/<kind>/<name>`` otherwise."""
    task_key: str
    """The task's column-group key (task name, plus ``@<short hash>`` on a dataset mismatch)."""
    task: str
    label: str
    """Header text (metric, section, dimension or subset name)."""
    kind: str
    """main | section | difficulty | dimension | attribute | subset."""
    higher_is_better: bool


@dataclass
class BoardTable:
    """The main table: model metadata plus values, CIs, ranks and tie marks per column."""

    columns: list[Column]
    models: pd.DataFrame
    """Index: model slug; columns: MODEL_FIELDS."""
    value: pd.DataFrame
    lo: pd.DataFrame
    hi: pd.DataFrame
    rank: pd.DataFrame
    """Competition rank per column (NaN where the value is missing)."""
    leader: pd.DataFrame
    tied: pd.DataFrame
    """True where the CI overlaps a leader's CI (leaders themselves are False)."""
    sort_key: str | None
    """Task column the rows are ordered by (None: the overall mean rank)."""
    overall: Overall | None = None
    paired: dict[tuple[str, str], PairedTie] | None = None
    """Paired comparison with the leader per (slug, main column key)."""

    @property
    def order(self) -> list[str]:
        """Model slugs in display order (the index order)."""
        return list(self.value.index)


def _entry(raw: Any, field: str) -> tuple[float | None, list[float] | None, int | None]:
    """(value, ci95, n) from a number or a ``{field|value, ci95, n}`` dict."""
    if isinstance(raw, bool):
        return None, None, None
    if isinstance(raw, int | float):
        return float(raw), None, None
    if isinstance(raw, dict):
        value = raw.get(field, raw.get("value"))
        ci = raw.get("ci95")
        ok_ci = (
            isinstance(ci, list) and len(ci) == 2 and all(isinstance(c, int | float) for c in ci)
        )
        num = isinstance(value, int | float) and not isinstance(value, bool)
        return (float(value) if num else None), (ci if ok_ci else None), raw.get("n")
    return None, None, None


def run_cells(run: Run, section_order: list[str] | None = None) -> list[tuple[str, str, Any]]:
    """All (kind, label, raw entry) cells one run contributes, in column order."""
    d = run.data
    main = d["task"]["main_score"]
    cells: list[tuple[str, str, Any]] = [("main", main, d["metrics"][main])]
    tables = d.get("tables") or {}
    for kind, name, _ in TABLE_KINDS:
        block = tables.get(name)
        if isinstance(block, dict):
            for label in _ordered(block, section_order):
                cells.append((kind, label, _with_metric_ci(block[label], label, d["metrics"])))
    for subset in sorted(d.get("by_subset") or {}):
        cells.append(("subset", subset, (d["by_subset"][subset] or {}).get(main)))
    return cells


def _with_metric_ci(raw: Any, label: str, metrics: dict[str, Any]) -> Any:
    """A bare table number plus the CI of the same-valued metric named like it, if any.

    RewardBench stores ``tables.sections["Chat Hard"] = x`` and ``metrics["chat_hard"] =
    {value: x, ci95, n}``: the section column then carries that CI.
    """
    metric = metrics.get(label.lower().replace(" ", "_"))
    if not isinstance(raw, int | float) or isinstance(raw, bool) or not isinstance(metric, dict):
        return raw
    value = metric.get("value")
    if isinstance(value, int | float) and math.isclose(value, raw, rel_tol=1e-9, abs_tol=1e-12):
        return metric
    return raw


def _ordered(block: dict[str, Any], order: list[str] | None) -> list[str]:
    first = [k for k in (order or []) if k in block]
    return first + sorted(k for k in block if k not in first)


def _field(kind: str) -> str:
    return next((f for k, _, f in TABLE_KINDS if k == kind), "value")


def model_info(runs: list[Run], meta: dict[str, Any]) -> pd.DataFrame:
    """One row of model metadata per slug (taken from its first result file, sorted by task),
    display fields from the metadata's ``models`` block where given."""
    type_names = meta.get("model_types", {})
    rows = {}
    for run in sorted(runs, key=lambda r: (r.slug, r.task_key)):
        if run.slug in rows:
            continue
        m, extra = run.data["model"], model_meta(meta, run.slug)
        mtype = m.get("type") or (m["spec"].split(":", 1)[0] if ":" in m["spec"] else "hf")
        rows[run.slug] = {
            **{k: extra.get(k) for k in ("link", "organisation", "base_model", "license", "date")},
            "name": extra.get("display_name") or short_spec(m["spec"]),
            "type": extra.get("type") or type_names.get(mtype, mtype),
            "spec": m["spec"],
            "n_parameters": m.get("n_parameters"),
            "dtype": m.get("dtype"),
            "revision": m.get("revision"),
        }
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(MODEL_FIELDS))
    return frame.astype({"n_parameters": float}).sort_index()


def rank_column(
    value: pd.Series, lo: pd.Series, hi: pd.Series, higher_is_better: bool
) -> pd.DataFrame:
    """Competition rank, leader flag and tied-with-leader flag for one column.

    Leaders are the models with the best value. Another model is tied when its CI overlaps a
    leader's CI (both CIs known); missing values get no rank and no flags.
    """
    present = value.dropna()
    rank = present.rank(method="min", ascending=not higher_is_better)
    leader = rank == 1
    tied = pd.Series(False, index=present.index)
    for slug in present.index[~leader]:
        for top in present.index[leader]:
            if _overlap(lo.get(slug), hi.get(slug), lo.get(top), hi.get(top)):
                tied[slug] = True
    out = pd.DataFrame({"rank": rank, "leader": leader, "tied": tied}).reindex(value.index)
    out["leader"] = out["leader"].fillna(False).astype(bool)
    out["tied"] = out["tied"].fillna(False).astype(bool)
    return out


def _overlap(lo_a: Any, hi_a: Any, lo_b: Any, hi_b: Any) -> bool:
    bounds = (lo_a, hi_a, lo_b, hi_b)
    if any(b is None or (isinstance(b, float) and math.isnan(b)) for b in bounds):
        return False
    return bool(lo_a <= hi_b and lo_b <= hi_a)


def _columns_and_cells(
    runs: list[Run], meta: dict[str, Any]
) -> tuple[list[Column], dict[tuple[str, str], tuple[float | None, Any, Any]]]:
    columns: dict[str, Column] = {}
    cells = {}
    for run in sorted(runs, key=lambda r: (task_rank(r.task_key, meta), r.slug)):
        tmeta = meta.get("tasks", {}).get(run.task, {})
        hib = bool(tmeta.get("higher_is_better", run.data["task"].get("higher_is_better", True)))
        for kind, label, raw in run_cells(run, tmeta.get("section_order")):
            key = run.task_key if kind == "main" else f"{run.task_key}/{kind}/{label}"
            columns.setdefault(key, Column(key, run.task_key, run.task, label, kind, hib))
            value, ci, _ = _entry(raw, _field(kind))
            cells[(run.slug, key)] = (value, ci[0] if ci else None, ci[1] if ci else None)
    return _sorted_columns(list(columns.values()), meta), cells


def _sorted_columns(columns: list[Column], meta: dict[str, Any]) -> list[Column]:
    kinds = ["main"] + [k for k, _, _ in TABLE_KINDS] + ["subset"]
    seen: dict[str, int] = {}
    for i, c in enumerate(columns):
        seen.setdefault(c.key, i)
    return sorted(
        columns,
        key=lambda c: (task_rank(c.task_key, meta), c.task_key, kinds.index(c.kind), seen[c.key]),
    )


def task_rank(task_key: str, meta: dict[str, Any]) -> tuple[int, str]:
    """Position of a task in the metadata's section order (unlisted tasks last, by name)."""
    task = task_key.split("@", 1)[0]
    pos = 0
    for section in meta.get("sections", []):
        for name in section.get("tasks", []):
            if name == task:
                return pos, task_key
            pos += 1
    return pos, task_key


def build_table(runs: list[Run], meta: dict[str, Any]) -> BoardTable:
    """Turn validated runs into the ranked table model (rows ordered by the sort column)."""
    columns, cells = _columns_and_cells(runs, meta)
    models = model_info(runs, meta)
    keys = [c.key for c in columns]
    frames = {}
    for i, name in enumerate(("value", "lo", "hi")):
        grid = {k: {s: cells.get((s, k), (None,) * 3)[i] for s in models.index} for k in keys}
        frames[name] = pd.DataFrame(grid, index=models.index, columns=keys, dtype=float)
    ranks = {
        c.key: rank_column(*(frames[n][c.key] for n in ("value", "lo", "hi")), c.higher_is_better)
        for c in columns
    }
    rank = pd.DataFrame({k: r["rank"] for k, r in ranks.items()}, index=models.index, columns=keys)
    leader = pd.DataFrame(
        {k: r["leader"] for k, r in ranks.items()}, index=models.index, columns=keys
    )
    tied = pd.DataFrame({k: r["tied"] for k, r in ranks.items()}, index=models.index, columns=keys)
    mains = [c.key for c in columns if c.kind == "main"]
    paired = paired_ties(runs, {k: str(leader.index[leader[k]][0]) for k in mains
                                if leader[k].any()})  # fmt: skip
    for k in mains:
        tied[k] = [bool(paired[(s, k)].tied) if (s, k) in paired else False for s in models.index]
    summary = overall(rank[mains])
    sort_key = _sort_key(columns, meta)
    order = _row_order(models, rank, sort_key, summary)
    return BoardTable(
        columns=columns,
        models=models.loc[order],
        value=frames["value"].loc[order],
        lo=frames["lo"].loc[order],
        hi=frames["hi"].loc[order],
        rank=rank.loc[order],
        leader=leader.loc[order],
        tied=tied.loc[order],
        sort_key=sort_key,
        overall=summary.loc(order),
        paired=paired,
    )  # fmt: skip


def _sort_key(columns: list[Column], meta: dict[str, Any]) -> str | None:
    """The task column named by ``site.default_sort``; None (overall) when it names none."""
    mains = [c.key for c in columns if c.kind == "main"]
    wanted = (meta.get("site") or {}).get("default_sort", "overall")
    return next((k for k in mains if k.split("@", 1)[0] == wanted), None)


def _row_order(
    models: pd.DataFrame, rank: pd.DataFrame, sort_key: str | None, summary: Overall
) -> list[str]:
    def key(slug: str) -> tuple[float, str, str]:
        r = rank.at[slug, sort_key] if sort_key else summary.position[slug]
        return (math.inf if pd.isna(r) else float(r), str(models.at[slug, "name"]), slug)

    return sorted(models.index, key=key)
