"""HTML pages from view models: Jinja2 with autoescape, inline assets hashed into the CSP."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup
from rmeval.leaderboard import assets
from rmeval.leaderboard.charts import CONFIG, Figure
from rmeval.leaderboard.loading import Run
from rmeval.leaderboard.views import IndexView, RunView, fmt, fmt_params

from rmeval import __version__ as VERSION


@cache
def environment() -> jinja2.Environment:
    """The template environment: autoescape on for every template, undefined names fail."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("rmeval.leaderboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.globals["fmt"] = fmt
    return env


def _page_inline(with_table: bool, with_charts: bool) -> tuple[assets.Inline, str | None]:
    inline = assets.Inline()
    marker = None
    if with_table:
        dt_js, dt_css = assets.datatables()
        inline.styles.append((Markup(""), Markup(dt_css)))
    inline.styles.append((Markup(""), Markup(assets.template_text("board.css"))))
    if with_charts:
        inline.styles.append(
            (Markup(' id="plotly.js-style-global" class="no-inline-styles"'),
             Markup(assets.template_text("plotly.css")))
        )  # fmt: skip
        inline.style_attrs = assets.PLOTLY_STYLE_ATTRS
        inline.scripts.append((Markup(""), Markup(assets.plotly_js())))
        marker = assets.maplibre_css_id()
    if with_table:
        inline.scripts.append((Markup(' type="module"'), Markup(dt_js)))
    if with_table or with_charts:
        inline.scripts.append((Markup(' type="module"'), Markup(assets.template_text("board.js"))))
    return inline, marker


def render_index(
    view: IndexView,
    figures: list[Figure],
    site: dict[str, Any],
    skipped: list[str],
    n_files: int,
) -> str:
    """The main page: table, filters, column toggles, charts, download links."""
    inline, marker = _page_inline(with_table=True, with_charts=bool(figures))
    figs = [
        {"id": f.id, "title": f.title, "caption": f.caption,
         "json": assets.safe_json({**f.spec, "config": CONFIG})}
        for f in figures
    ]  # fmt: skip
    return environment().get_template("index.html").render(
        title=site.get("title", "Leaderboard"),
        description=site.get("description", ""),
        csp=inline.csp(), inline=inline, marker_id=marker,
        view=view, figures=figs, skipped=skipped,
        config_json=assets.safe_json(view.config),
        version=VERSION, n_files=n_files,
    )  # fmt: skip


def model_facts(runs: list[Run]) -> list[tuple[str, str]]:
    """What identifies the model: spec, type, size, dtype, revision and fingerprint(s)."""
    m = runs[0].data["model"]
    fingerprints = sorted({str(r.data["model"].get("fingerprint")) for r in runs})
    return [
        ("spec", str(m.get("spec"))), ("type", str(m.get("type"))),
        ("parameters", fmt_params(m.get("n_parameters"))), ("dtype", str(m.get("dtype"))),
        ("max length", str(m.get("max_length"))), ("revision", str(m.get("revision"))),
        ("chat template sha256", str(m.get("chat_template_sha256"))),
        ("adapter args", json.dumps(m.get("args"), sort_keys=True, ensure_ascii=False)),
        ("fingerprint", ", ".join(fingerprints)),
    ]  # fmt: skip


def render_model(runs: list[Run], views: list[RunView], site: dict[str, Any]) -> str:
    """One model's page: every task with subsets, counts, provenance and hardest examples."""
    inline, _ = _page_inline(with_table=False, with_charts=False)
    name = str(runs[0].data["model"]["spec"])
    return environment().get_template("model.html").render(
        title=f"{name} · {site.get('title', 'Leaderboard')}",
        csp=inline.csp(), inline=inline, marker_id=None,
        model_name=name, facts=model_facts(runs), runs=views,
        version=VERSION, n_files=len(runs),
    )  # fmt: skip
