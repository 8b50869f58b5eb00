"""``build_site``: results folder -> static site folder (index, model pages, CSV, JSON)."""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from rmeval.harness.errors import RmevalError
from rmeval.leaderboard import render, views
from rmeval.leaderboard.charts import build_figures
from rmeval.leaderboard.display import load_user_metadata, merge_metadata, variant_labels
from rmeval.leaderboard.index_view import index_view
from rmeval.leaderboard.loading import Results, load_results
from rmeval.leaderboard.samples import hardest
from rmeval.leaderboard.table import BoardTable, build_table

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
    parts: dict[str, pd.Series] = {
        "overall position": table.overall.position.astype("Int64"),
        "borda points": table.overall.points,
        "mean rank": table.overall.mean_rank,
        "tasks covered": table.overall.n_tasks,
    }
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
    frame.columns = frame.columns.map(_inert)  # headers carry task and subset names too
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
        ov = table.overall
        position = None if math.isnan(ov.position[slug]) else int(ov.position[slug])
        summary = {"position": position, "borda_points": int(ov.points[slug]),
                   "mean_rank": _clean(ov.mean_rank[slug]),
                   "tasks_covered": int(ov.n_tasks[slug])}  # fmt: skip
        models.append({"slug": slug, "page": f"models/{pages[slug]}", **info,
                       "overall": summary, "scores": scores})  # fmt: skip
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


SITE_FILES = ("index.html", "leaderboard.csv", "leaderboard.json", "models")
"""What a built site folder holds (a folder holding anything else is never replaced)."""


def build_site(
    results_dir: Path,
    out_dir: Path,
    metadata: Path = METADATA,
    skip_unfinished: bool = False,
    warn: Callable[[str], None] | None = None,
    user_metadata: Path | None = None,
) -> list[Path]:
    """Build the static leaderboard from ``results_dir`` into ``out_dir``; return files written.

    Unfinished results (not complete, or samples not matching) are refused, or with
    ``skip_unfinished`` left out, listed on the page and passed to ``warn``. The site is built
    in a temporary folder beside ``out_dir`` that replaces the old site only once complete.
    Deterministic: the same results give byte-identical files (sorted iteration, no clocks).
    ``user_metadata`` (``--metadata``) adds display names, links and task fields.
    """
    meta = load_metadata(metadata)
    if user_metadata is not None:
        meta = merge_metadata(meta, load_user_metadata(Path(user_metadata)))
    results = load_results(Path(results_dir), skip_unfinished=skip_unfinished)
    for sentence in results.skipped if warn else []:
        warn(sentence)
    return publish(Path(out_dir), lambda out: _write_site(results, meta, out))


def _write_site(results: Results, meta: dict[str, Any], out: Path) -> list[Path]:
    datasets = {r.task_key: r.data["task"]["dataset"].get("path") for r in results.runs}
    meta = {**meta, "dataset_variants": variant_labels(datasets)}
    table = build_table(results.runs, meta)
    pages = {slug: views.page_name(slug) for slug in table.order}
    titles = {c.task_key: views.task_title(c.task_key, meta) for c in table.columns}
    figures = build_figures(table, results.runs, results.compare, meta, titles)
    index = render.render_index(
        index_view(table, meta, pages), figures, meta.get("site") or {},
        results.skipped, len(results.runs),
    )  # fmt: skip
    written = [
        _write(out / "index.html", index),
        _write(out / "leaderboard.csv", table_csv(table)),
        _write(out / "leaderboard.json", table_json(table, results, pages)),
    ]
    for slug in table.order:
        runs = views.model_runs(results.runs, slug, meta)
        run_views = [views.run_view(r, meta, hardest(r.samples, r.view) if r.view else None)
                     for r in runs]  # fmt: skip
        html = render.render_model(runs, run_views, meta.get("site") or {},
                                   str(table.models.at[slug, "name"]),
                                   (meta.get("models") or {}).get(slug))  # fmt: skip
        written.append(_write(out / "models" / pages[slug], html))
    return written


def publish(out: Path, build: Callable[[Path], list[Path]]) -> list[Path]:
    """Run ``build`` into a fresh folder beside ``out``, then swap it in for the old site."""
    target = _check_replaceable(out)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()  # not mkdtemp: the site keeps the user's umask (0700 would hide it)
        written = build(tmp)
        _swap(tmp, target)
    except OSError as exc:
        raise RmevalError(
            f"{out}: cannot write the site ({exc.strerror or exc}); free some space or fix the "
            "folder's permissions, or pass another --out (the old site is left as it was)."
        ) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [out / p.relative_to(tmp) for p in written]


def _check_replaceable(out: Path) -> Path:
    """``out`` resolved, once it is known that a new site may replace it."""
    try:
        target, here = out.resolve(), Path.cwd()
    except OSError as exc:
        raise RmevalError(
            f"{out}: cannot resolve the folder ({exc.strerror}); cd elsewhere."
        ) from exc
    if target == here or target in here.parents:
        raise RmevalError(
            f"{out}: is the current folder (or holds it), which a build would replace; "
            "pass --out with a folder of its own, e.g. --out site."
        )
    if not out.exists():
        return target
    if not out.is_dir():
        raise RmevalError(f"{out}: exists and is not a folder; pass another --out.")
    foreign = sorted(p.name for p in out.iterdir() if p.name not in SITE_FILES)
    pages = out / "models"
    if pages.is_dir():
        foreign += sorted(f"models/{p.name}" for p in pages.iterdir() if p.suffix != ".html")
    if foreign:
        raise RmevalError(
            f"{out}: holds {foreign[0]!r}, which the leaderboard did not write, and a build "
            "replaces the whole folder; pass an empty or new --out folder."
        )
    return target


def _swap(new: Path, out: Path) -> None:
    """Put ``new`` at ``out``; the old site is moved aside first and deleted last."""
    if not out.exists():
        os.replace(new, out)
        return
    old = out.with_name(f".{out.name}.{secrets.token_hex(4)}.old")
    os.replace(out, old)
    try:
        os.replace(new, out)
    except OSError:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
