"""``build_site``: results folder -> static site folder (index, model pages, CSV, JSON)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from leaderboard import render, views
from leaderboard.charts import build_figures
from leaderboard.loading import Results, load_results
from leaderboard.samples import hardest
from leaderboard.table import BoardTable, build_table

METADATA = Path(__file__).with_name("metadata.yaml")


def load_metadata(path: Path = METADATA) -> dict[str, Any]:
    """The display metadata (names, grouping, direction, descriptions)."""
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: Any) -> Any:
    """A text cell that spreadsheets show rather than run: a leading formula character gets a
    quote in front (CSV injection, OWASP)."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def table_csv(table: BoardTable) -> str:
    """The main table as CSV: model fields, then value / CI bounds / rank / tie per column."""
    parts: dict[str, pd.Series] = {}
    for col in table.columns:
        parts[col.key] = table.value[col.key]
        parts[f"{col.key} ci95 lo"] = table.lo[col.key]
        parts[f"{col.key} ci95 hi"] = table.hi[col.key]
        parts[f"{col.key} rank"] = table.rank[col.key].astype("Int64")
        parts[f"{col.key} tied with leader"] = table.tied[col.key]
    models = table.models.copy()
    models["n_parameters"] = models["n_parameters"].astype("Int64")
    frame = pd.concat([models, pd.DataFrame(parts, index=models.index)], axis=1)
    frame = frame.map(_inert)
    frame.index = frame.index.map(_inert)
    frame.index.name = "slug"
    return frame.to_csv(na_rep="n/a", lineterminator="\n")


def _clean(value: Any) -> Any:
    """Plain JSON value: numpy scalars unwrapped, NaN -> None."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def table_json(table: BoardTable, results: Results, pages: dict[str, str]) -> str:
    """The full data: columns, per-model scores with CIs/ranks/ties, and every result file."""
    models = []
    for slug in table.order:
        info = {k: _clean(v) for k, v in table.models.loc[slug].items()}
        if info["n_parameters"] is not None:
            info["n_parameters"] = int(info["n_parameters"])
        scores = {
            c.key: {
                "value": _clean(table.value.at[slug, c.key]),
                "ci95": None
                if math.isnan(table.lo.at[slug, c.key])
                else [table.lo.at[slug, c.key], table.hi.at[slug, c.key]],
                "rank": None
                if math.isnan(table.rank.at[slug, c.key])
                else int(table.rank.at[slug, c.key]),
                "leader": bool(table.leader.at[slug, c.key]),
                "tied_with_leader": bool(table.tied.at[slug, c.key]),
            }
            for c in table.columns
        }
        models.append({"slug": slug, "page": f"models/{pages[slug]}", **info, "scores": scores})
    data = {
        "schema_version": 1,
        "sort_key": table.sort_key,
        "columns": [vars(c) for c in table.columns],
        "models": models,
        "results": [
            {
                "slug": r.slug,
                "task_key": r.task_key,
                "file": f"{r.slug}/{r.path.name}",
                "data": r.data,
            }
            for r in results.runs
        ],
        "compare": results.compare,
        "skipped": results.skipped,
    }
    return json.dumps(data, sort_keys=True, ensure_ascii=False, allow_nan=False, indent=1) + "\n"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def build_site(results_dir: Path, out_dir: Path, metadata: Path = METADATA) -> list[Path]:
    """Build the static leaderboard from ``results_dir`` into ``out_dir``; return files written.

    Deterministic: the same results give byte-identical files (sorted iteration, no clocks).
    """
    meta = load_metadata(metadata)
    results = load_results(Path(results_dir))
    table = build_table(results.runs, meta)
    pages = {slug: views.page_name(slug) for slug in table.order}
    figures = build_figures(table, results.runs, results.compare, meta)
    out = Path(out_dir)
    index = render.render_index(
        views.index_view(table, meta, pages), figures, meta.get("site") or {},
        results.skipped, len(results.runs),
    )  # fmt: skip
    written = [
        _write(out / "index.html", index),
        _write(out / "leaderboard.csv", table_csv(table)),
        _write(out / "leaderboard.json", table_json(table, results, pages)),
    ]
    for slug in table.order:
        runs = views.model_runs(results.runs, slug, meta)
        run_views = [
            views.run_view(r, meta, hardest(r.samples_path) if r.samples_path.is_file() else None)
            for r in runs
        ]
        html = render.render_model(runs, run_views, meta.get("site") or {})
        written.append(_write(out / "models" / pages[slug], html))
    _remove_stale_pages(out / "models", set(written))
    return written


def _remove_stale_pages(folder: Path, current: set[Path]) -> None:
    """Delete model pages an earlier build wrote for models no longer in the results, so the
    site never links (or serves) a model that is gone."""
    for page in folder.glob("*.html"):
        if page not in current:
            page.unlink()
