"""View models: the table model and runs turned into plain strings for the templates.

Nothing here produces markup; the templates autoescape every string given to them.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from rmeval.leaderboard import run_tables
from rmeval.leaderboard.display import short_path, shorten_locals
from rmeval.leaderboard.formatting import NA, SimpleTable, fmt, fmt_ci, fmt_params  # noqa: F401
from rmeval.leaderboard.loading import Run
from rmeval.leaderboard.table import task_rank

_UNSAFE_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def page_name(slug: str) -> str:
    """A file name for a model page that cannot escape ``models/`` (hash added if sanitised)."""
    safe = _UNSAFE_SLUG.sub("-", slug).strip(".-") or "model"
    if safe != slug:
        safe += "-" + hashlib.sha256(slug.encode()).hexdigest()[:8]
    return safe + ".html"


def task_title(task_key: str, meta: dict[str, Any]) -> str:
    """Display name of a task column group; a task split by dataset names the dataset's file
    (``meta["dataset_variants"]``, see :func:`display.variant_labels`), else its short hash."""
    task, _, short = task_key.partition("@")
    name = (meta.get("tasks", {}).get(task) or {}).get("display_name", task)
    if not short:
        return name
    return f"{name} ({(meta.get('dataset_variants') or {}).get(task_key, 'data ' + short)})"


@dataclass
class RunView:
    title: str
    description: str
    metrics: SimpleTable
    counts: list[tuple[str, str]]
    provenance: list[tuple[str, str]]
    tables: list[SimpleTable] = field(default_factory=list)
    hardest: list[Any] = field(default_factory=list)
    has_panel: bool = False
    """The task declares which sample lines are wrong (else no hardest-examples panel)."""
    panel_note: str = ""
    """What the panel lists and in which order (from the task's samples view)."""
    has_texts: bool = False


def _dump(value: Any) -> str:
    """Canonical JSON text of a params block for display."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def run_view(run: Run, meta: dict[str, Any], hardest: list[Any] | None) -> RunView:
    """Everything the model page shows about one result file (``hardest`` None: no panel)."""
    d, task = run.data, run.data["task"]
    main = task["main_score"]
    names = [main] + sorted(k for k in d["metrics"] if k != main)
    metrics = SimpleTable("Metrics (main score first)", ["metric", "value", "95% CI", "n"], [
        [name, fmt(m.get("value")), fmt_ci(*(m.get("ci95") or [None, None])), str(m.get("n", ""))]
        for name in names if isinstance(m := d["metrics"][name], dict)
    ])  # fmt: skip
    ds = task.get("dataset") or {}
    h = d.get("harness") or {}
    provenance = [
        ("harness version", str(h.get("version"))), ("harness commit", str(h.get("git_commit"))),
        ("task version", str(task.get("version"))),
        ("task params", _dump(shorten_locals(task.get("params")))),
        ("dataset path", short_path(ds.get("path"))), ("dataset revision", str(ds.get("revision"))),
        ("dataset split", str(ds.get("split"))), ("dataset sha256", str(ds.get("sha256"))),
        ("model fingerprint", str(d["model"].get("fingerprint"))),
        ("started at", str(d.get("started_at"))), ("duration (s)", str(d.get("duration_s"))),
    ]  # fmt: skip
    counts = [(k, str(v)) for k, v in sorted((d.get("counts") or {}).items())]
    description = (meta.get("tasks", {}).get(task["name"]) or {}).get("description", "")
    return RunView(
        title=task_title(run.task_key, meta), description=description, metrics=metrics,
        counts=counts, provenance=provenance,
        tables=run_tables.task_tables(
            d, (meta.get("tasks", {}).get(task["name"]) or {}).get("styles")
        ),
        hardest=hardest or [], has_panel=hardest is not None,
        panel_note=run.view.summary if run.view else "",
        has_texts=any(x.stored_texts for x in hardest or []),
    )  # fmt: skip


def model_runs(runs: list[Run], slug: str, meta: dict[str, Any]) -> list[Run]:
    """One model's runs in table order."""
    mine = [r for r in runs if r.slug == slug]
    return sorted(mine, key=lambda r: task_rank(r.task_key, meta))
