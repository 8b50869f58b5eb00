"""HTML pages from view models: Jinja2 with autoescape, inline assets hashed into the CSP."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup
from rmeval.leaderboard import assets
from rmeval.leaderboard.charts import CONFIG, Figure
from rmeval.leaderboard.display import short_spec, shorten_locals
from rmeval.leaderboard.index_view import IndexView
from rmeval.leaderboard.loading import Run
from rmeval.leaderboard.views import RunView, fmt, fmt_params

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
    inline.styles.append((Markup(""), Markup(assets.template_text("board.css"))))
    if with_charts:
        inline.styles.append(
            (Markup(' id="plotly.js-style-global" class="no-inline-styles"'),
             Markup(assets.template_text("plotly.css")))
        )  # fmt: skip
        inline.style_attrs = assets.PLOTLY_STYLE_ATTRS
        inline.scripts.append((Markup(""), Markup(assets.plotly_js())))
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


def model_facts(
    runs: list[Run], about: dict[str, Any]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """What identifies the model, as (shown up front, folded): spec (local paths cut to their
    last folder), type, size, tasks and the metadata file's fields; then dtype, revision,
    chat template, adapter arguments (local paths cut, as above) and fingerprint(s)."""
    m = runs[0].data["model"]
    fingerprints = sorted({str(r.data["model"].get("fingerprint")) for r in runs})
    given = [(k.replace("_", " "), str(about[k])) for k in ABOUT_FIELDS if about.get(k)]
    shown = [
        ("spec", short_spec(str(m.get("spec")))), ("type", str(m.get("type"))),
        ("parameters", fmt_params(m.get("n_parameters"))), ("tasks", str(len(runs))), *given,
    ]  # fmt: skip
    return shown, [
        ("dtype", str(m.get("dtype"))),
        ("max length", str(m.get("max_length"))), ("revision", str(m.get("revision"))),
        ("chat template sha256", str(m.get("chat_template_sha256"))),
        ("adapter args",
         json.dumps(shorten_locals(m.get("args")), sort_keys=True, ensure_ascii=False)),
        ("fingerprint", ", ".join(fingerprints)),
    ]  # fmt: skip


ABOUT_FIELDS = ("organisation", "type", "base_model", "license", "date", "link")


def render_model(
    runs: list[Run], views: list[RunView], site: dict[str, Any], name: str,
    about: dict[str, Any] | None = None,
) -> str:  # fmt: skip
    """One model's page: every task with subsets, counts, provenance and hardest examples."""
    inline, _ = _page_inline(with_table=False, with_charts=False)
    return environment().get_template("model.html").render(
        title=f"{name} · {site.get('title', 'Leaderboard')}",
        csp=inline.csp(), inline=inline, marker_id=None,
        model_name=name, facts=model_facts(runs, about or {}), runs=views,
        version=VERSION, n_files=len(runs),
    )  # fmt: skip
