"""Plain-text views of an ``rmeval compare`` report (the JSON report keeps everything).

- ``format_summary``: two runs, one line per task: each run's main score, the difference with
  its paired 95% CI, the sign-test p-value and a direction-aware verdict.
- ``format_grid``: three or more runs, a tasks × models table against each task's best run.
- ``format_table``: every row (reported metrics and subsets, every pair), for ``--details``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

P_FLOOR = 1e-16
CI_NOTE = "CI: paired bootstrap 95% over the shared items, by the task's own formula"
P_NOTE = (
    "p: exact sign test on per-item credits where the score is their mean, else paired bootstrap"
)
FLAGS_NOTE = "--details: metrics and subsets; --json: everything"


def _num(x: Any, fmt: str = ".4f") -> str:
    return "-" if x is None else format(round(x, 12) + 0.0, fmt)  # never print "-0.0000"


def p_text(p: float | None) -> str:
    """A p-value for humans: ``<1e-16`` below double precision's resolution, never ``0``."""
    if p is None:
        return "-"
    return f"<{P_FLOOR:.0e}" if p < P_FLOOR else format(p, ".3g")


def ci_text(ci: Sequence[float] | None) -> str:
    """``[lo, hi]`` with signs, or ``-`` when the CI is undefined."""
    return f"[{_num(ci[0], '+.4f')}, {_num(ci[1], '+.4f')}]" if ci else "-"


def verdict_text(row: dict) -> str:
    """``B better, CI excludes 0`` / ``... includes 0`` / ``equal``."""
    if row.get("better") is None:
        return "equal" if row.get("diff") == 0 else "-"
    return f"{row['better']} better, CI {'excludes' if row['significant'] else 'includes'} 0"


def aligned(head: list[str], body: list[list[str]], left: int) -> list[str]:
    """Columns padded to width: the first ``left`` left-aligned, the rest right-aligned."""
    widths = [max(len(row[c]) for row in [head, *body]) for c in range(len(head))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if k < left else c.rjust(w)
            for k, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(head), "  ".join("-" * w for w in widths), *(line(b) for b in body)]


def _direction(info: dict) -> str:
    return "higher" if info.get("higher_is_better", True) else "lower"


def _notes(report: dict) -> list[str]:
    """Notes of tasks whose main rows are not the result files' main score on every item."""
    out = []
    for name, info in report["tasks"].items():
        rows = [r for r in main_rows(report) if r["task"] == name]
        partial = any(n != info["n_shared"] for n in info["n_items"].values())
        other = any(r["measure"] != info["main_score"] for r in rows)
        if partial or other:
            shared = f"{info['n_shared']} shared items of {info['n_items']}"
            out.append(f"{name}: {shared}" + (f"; {info['note']}" if info["note"] else ""))
    return out


def main_rows(report: dict) -> list[dict]:
    """Each task's main-score rows (one per pair of runs)."""
    return [r for r in report["rows"] if r["metric"] == report["tasks"][r["task"]]["main_score"]]


def format_summary(report: dict) -> str:
    """Two runs: one line per task (main score, difference, CI, p, verdict)."""
    a, b = (r["label"] for r in report["runs"])
    head = ["task", "score", "better", a, b, f"{b}-{a}", "95% CI", "p", "n", "verdict"]
    body = [
        [
            r["task"],
            r["measure"],
            _direction(report["tasks"][r["task"]]),
            _num(r["a_value"]),
            _num(r["b_value"]),
            _num(r["diff"], "+.4f"),
            ci_text(r.get("ci95")),
            p_text(r.get("p_value")),
            str(r["n"]),
            verdict_text(r),
        ]
        for r in main_rows(report)
    ]
    legend = f"{CI_NOTE}; {P_NOTE}. {FLAGS_NOTE}."
    return "\n".join([*aligned(head, body, 3), legend, *_notes(report)])


def _against_best(row: dict | None, label: str, best: str) -> str:
    """``value  diff [ci]*`` of ``label`` minus ``best`` from their pair row (either order)."""
    if row is None:
        return "-"
    flip = row["a"] == label  # the row holds best - label
    value = row["a_value"] if flip else row["b_value"]
    diff = row["diff"]
    ci = row.get("ci95")
    if flip and diff is not None:
        diff, ci = -diff, ([-ci[1], -ci[0]] if ci else None)
    mark = "*" if row.get("significant") else ""
    return f"{_num(value)} {_num(diff, '+.4f')} {ci_text(ci)}{mark}"


def format_grid(report: dict) -> str:
    """Three or more runs: per task, each run's main score and its difference to the best run."""
    labels = [r["label"] for r in report["runs"]]
    rows = main_rows(report)
    body = []
    for name, info in report["tasks"].items():
        values = {k: v for k, v in info["values"].items() if v is not None}
        pick = max if info.get("higher_is_better", True) else min
        best = pick(values, key=values.__getitem__) if values else None
        cells = [name, info["main_score"], _direction(info), best or "-"]
        for label in labels:
            if label == best or best is None:
                cells.append(f"{_num(info['values'].get(label))} (best)" if best else "-")
                continue
            pair = next(
                (r for r in rows if r["task"] == name and {r["a"], r["b"]} == {label, best}), None
            )
            cells.append(_against_best(pair, label, best))
        body.append(cells)
    head = ["task", "score", "better", "best", *labels]
    legend = "cells: score, difference to the best run, [95% CI] (* the CI excludes 0). "
    legend += f"{CI_NOTE}. {FLAGS_NOTE}."
    return "\n".join([*aligned(head, body, 4), legend, *_notes(report)])


def _metric(row: dict) -> str:
    """The row's metric, with what its numbers measure when the name does not say it."""
    measure = row.get("measure", row["metric"])
    return row["metric"] if measure == row["metric"] else f"{row['metric']} ({measure})"


def format_table(report: dict) -> str:
    """Every row of the report (all pairs, reported metrics, subsets), with per-task notes."""
    head = ["task", "metric", "A", "B", "n", "score A", "score B", "B-A", "95% CI", "p", "agree"]
    body = [
        [r["task"], _metric(r), r["a"], r["b"], str(r["n"])]
        + [_num(r["a_value"]), _num(r["b_value"]), _num(r["diff"], "+.4f")]
        + [ci_text(r.get("ci95")), p_text(r.get("p_value")), _num(r.get("agreement"), ".3f")]
        for r in report["rows"]
    ]
    out = aligned(head, body, 4)
    for name, info in report["tasks"].items():
        out.append(
            f"{name}: main score '{info['main_score']}' by {info['method']}, "
            f"{info['n_shared']} shared items" + (f" ({info['note']})" if info["note"] else "")
        )
    return "\n".join(out)


def format_matrices(starc: dict) -> str:
    """The STARC and EPIC matrices as aligned text."""
    models = starc["models"]
    width = max(8, *(len(m) for m in models))
    out = [f"task {starc.get('task')}, {starc['n_prompts']} prompts; {starc['convention']}"]
    for key in ("starc", "epic"):
        out.append(key.upper().ljust(width) + "".join(m.rjust(width + 2) for m in models))
        for m, row in zip(models, starc[key], strict=True):
            out.append(m.ljust(width) + "".join(f"{v:.4f}".rjust(width + 2) for v in row))
    return "\n".join(out)
