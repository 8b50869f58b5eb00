"""Inline assets for an offline page under a hash-based Content-Security-Policy.

Vendored code comes from installed packages, never a CDN: Plotly's ``plotly.min.js`` from
the ``plotly`` package and DataTables (+ jQuery) from the offline bundle that ``itables``
ships. Every inline ``<script>``/``<style>`` block is hashed into the page's CSP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from markupsafe import Markup
from rmeval.harness.errors import RmevalError

TEMPLATES = resources.files("rmeval.leaderboard") / "templates"
# Plotly sets these exact style attributes on heatmap images and colorbar rects; CSP's
# 'unsafe-hashes' lets only these literal values through (never arbitrary style attributes).
PLOTLY_STYLE_ATTRS = (
    "",
    "image-rendering: optimizeSpeed; image-rendering: -moz-crisp-edges; "
    "image-rendering: -o-crisp-edges; image-rendering: -webkit-optimize-contrast; "
    "image-rendering: optimize-contrast; image-rendering: crisp-edges; "
    "image-rendering: pixelated; ",
)
_HTML_IN_SCRIPT = re.compile(r"<(?=!--|/?script)", re.IGNORECASE)
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"}
_JSON_ESCAPES.update({"\u2028": "\\u2028", "\u2029": "\\u2029"})
_EXPORT = re.compile(r"export\s*\{([^{}]*)\}\s*;?\s*(/\*(?:(?!\*/).)*\*/\s*)?$", re.DOTALL)
_MAPLIBRE_CSS_ID = re.compile(
    r'getElementById\("([0-9a-f]{64})"\)\)\{var \w+=document\.createElement\("style"\)'
)


def safe_json(obj: Any) -> Markup:
    """JSON for an HTML ``<script type="application/json">`` block (``<>&'``, U+2028/9 escaped)."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return Markup(re.sub("[<>&'\u2028\u2029]", lambda m: _JSON_ESCAPES[m.group()], text))


def script_safe(code: str) -> str:
    """Make vendored JS inert to the HTML parser: ``<!--``, ``<script``, ``</script`` -> ``\\x3C``.

    These sequences occur only inside string/regex literals and comments of the bundles,
    where ``\\x3C`` means the same character.
    """
    return _HTML_IN_SCRIPT.sub(r"\\x3C", code)


def csp_hash(text: str) -> str:
    """CSP source expression for an inline block: ``'sha256-<base64>'``."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@dataclass
class Inline:
    """The inline scripts and styles of one page, in document order, and its CSP."""

    scripts: list[tuple[str, str]] = field(default_factory=list)
    """(type attribute or "", code)."""
    styles: list[tuple[str, str]] = field(default_factory=list)
    """(extra attributes or "", css)."""
    style_attrs: tuple[str, ...] = ()

    def csp(self) -> str:
        """``default-src 'none'`` plus the hash of every block; nothing from the network."""
        parts = ["default-src 'none'"]
        if self.scripts:
            parts.append("script-src " + " ".join(csp_hash(c) for _, c in self.scripts))
        styles = [csp_hash(c) for _, c in self.styles]
        if self.style_attrs:
            styles += ["'unsafe-hashes'"] + [csp_hash(a) for a in self.style_attrs]
        if styles:
            parts.append("style-src " + " ".join(styles))
        parts.append("img-src data:")
        return "; ".join(parts)


def template_text(name: str) -> str:
    """A static asset (our own JS or CSS) from the templates folder."""
    return (TEMPLATES / name).read_text(encoding="utf-8")


@cache
def plotly_js() -> str:
    """The plotly.js bundle shipped by the ``plotly`` Python package, HTML-safe."""
    try:
        path = resources.files("plotly") / "package_data" / "plotly.min.js"
        return script_safe(path.read_text(encoding="utf-8"))
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise RmevalError(
            "the leaderboard's charts need the plotly package; install it with "
            "`pip install plotly`."
        ) from exc


def maplibre_css_id() -> str | None:
    """Id whose presence stops plotly.js injecting its (unused, unhashed) map stylesheet."""
    found = _MAPLIBRE_CSS_ID.search(plotly_js())
    return found.group(1) if found else None


@cache
def datatables() -> tuple[str, str]:
    """(module JS, CSS) of the DataTables bundle itables ships for offline use.

    The bundle is an ES module ending in ``export{...}``; the export is rewritten into
    ``window.rmevalDataTables = {...}`` so it can run as one hashed inline module.
    """
    try:
        root = resources.files("itables") / "html"
        js = (root / "dt_bundle.js").read_text(encoding="utf-8")
        css = (root / "dt_bundle.css").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise RmevalError(
            "the leaderboard's table needs the itables package (for its offline DataTables "
            "bundle); install it with `pip install itables`."
        ) from exc
    found = _EXPORT.search(js)
    if not found:
        raise RmevalError(
            "itables' dt_bundle.js has no trailing export clause; pin an itables version "
            "whose offline bundle is an ES module."
        )
    pairs = [p.split(" as ") for p in found.group(1).split(",")]
    names = ",".join(f"{alias.strip()}:{local.strip()}" for local, alias in pairs)
    js = js[: found.start()] + f"window.rmevalDataTables={{{names}}};\n" + (found.group(2) or "")
    if "</style" in css.lower():
        raise RmevalError("itables' dt_bundle.css contains '</style'; pin another version.")
    return script_safe(js), css
