"""Plotly building blocks shared by the board's charts: the figure record, safe labels, layout.

Every label that reaches plotly goes through :func:`plot_text`: plotly renders a small HTML
subset (``<b>``, ``<a href>``) in SVG text, so ``<``, ``>`` and ``&`` are escaped as entities
and the text shows literally.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from rmeval.leaderboard.loading import Run


@dataclass(frozen=True)
class Figure:
    """One chart: an element id, a heading, a caption and the plotly ``{data, layout}``."""

    id: str
    title: str
    caption: str
    spec: dict[str, Any]


def plot_text(text: Any) -> str:
    """A label plotly shows literally (its pseudo-HTML neutralised)."""
    s = str(text)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def key_label(key: str) -> str:
    """A master-key string made visible (quoted, so " " and "." can be told apart)."""
    return json.dumps(key, ensure_ascii=False)


def num(x: Any) -> float | None:
    ok = isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
    return float(x) if ok else None


def base_layout(title: str, **extra: Any) -> dict[str, Any]:
    """A layout readable from 390 px up: small margins, axes that size to their labels, the
    legend under the plot. The title is the figure's heading on the page (and its ``meta``
    here, for tests and screen readers), not drawn again inside the plot."""
    base = {
        "meta": {"title": title},
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        "font": {"size": 12},
    }
    for axis in ("xaxis", "yaxis"):
        base[axis] = {"automargin": True, **extra.pop(axis, {})}
    base.update(extra)
    return base


LABEL_CHARS = 22


def truncate(text: Any) -> str:
    """A long name cut with an ellipsis (not yet escaped: pass it through plot_text)."""
    s = str(text)
    return s if len(s) <= LABEL_CHARS else s[: LABEL_CHARS - 1] + "…"


def short_label(text: Any) -> str:
    """A model name for an axis or legend, cut to fit a phone and escaped for plotly."""
    return plot_text(truncate(text))


def selector(
    names: list[str], traces_per_item: int = 1, y_titles: bool = False
) -> list[dict[str, Any]]:
    """A dropdown that shows one item's traces at a time (no custom JS needed); with
    ``y_titles`` the item's name also becomes the y axis title."""
    if len(names) < 2:
        return []
    total = len(names) * traces_per_item
    buttons = []
    for i, name in enumerate(names):
        visible = [i * traces_per_item <= t < (i + 1) * traces_per_item for t in range(total)]
        args: list[dict[str, Any]] = [{"visible": visible}]
        if y_titles:
            args.append({"yaxis.title.text": plot_text(name)})
        method = "update" if y_titles else "restyle"
        buttons.append({"label": plot_text(name), "method": method, "args": args})
    return [{"buttons": buttons, "x": 0, "y": 1.02, "xanchor": "left", "yanchor": "bottom"}]


def errors(entries: list[dict[str, Any]]) -> tuple[list, list, list]:
    """(accuracy, CI distance above, CI distance below) per probe-dimension entry."""
    acc, plus, minus = [], [], []
    for entry in entries:
        a = num(entry.get("accuracy"))
        ci = entry.get("ci95") or [None, None]
        lo, hi = (num(ci[0]), num(ci[1])) if len(ci) == 2 else (None, None)
        acc.append(a)
        plus.append(None if a is None or hi is None else hi - a)
        minus.append(None if a is None or lo is None else a - lo)
    return acc, plus, minus


def run_table(run: Run, name: str) -> Any:
    block = (run.data.get("tables") or {}).get(name)
    return block if isinstance(block, dict) and block else None


def pick(labels: list[str]) -> str:
    return "Pick a model in the menu." if len(labels) > 1 else ""
