"""Inline assets for an offline page under a hash-based Content-Security-Policy.

Vendored code ships in ``leaderboard/vendor/`` (never a CDN): plotly.js's cartesian partial
bundle (heatmap, scatter, bar; license and sha256 in ``vendor/README.md``). The table needs
no library (``templates/board.js``). Every inline ``<script>``/``<style>`` block is hashed
into the page's CSP.
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


VENDOR = resources.files("rmeval.leaderboard") / "vendor"
PLOTLY_FILE = "plotly-cartesian.min.js"
PLOTLY_SHA256 = "79542150855a52c567260e3137095dbe2b744e6d702a5cabe67da246942fba7a"
"""plotly.js-cartesian-dist-min 4.1.1 from npm (MIT); see vendor/README.md."""


@cache
def plotly_js() -> str:
    """The vendored plotly.js cartesian bundle, checked against its sha256, HTML-safe."""
    raw = (VENDOR / PLOTLY_FILE).read_bytes()
    if hashlib.sha256(raw).hexdigest() != PLOTLY_SHA256:
        raise RmevalError(
            f"leaderboard/vendor/{PLOTLY_FILE} does not have the sha256 recorded in "
            "rmeval.leaderboard.assets; reinstall rmeval (see vendor/README.md to update it)."
        )
    return script_safe(raw.decode("utf-8"))
