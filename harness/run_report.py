"""The counts printed at the end of a run: ties, invalid scores and truncated texts per
(model, task), and one warning sentence when many texts were cut."""

from __future__ import annotations

from collections.abc import Sequence

from rmeval.harness.result import Result

TRUNCATION_WARN_SHARE = 0.05
"""More than this share of examples with a truncated text earns a warning sentence."""


def share(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a percentage with one decimal ("0.0%" for an empty whole)."""
    return f"{100.0 * part / whole:.1f}%" if whole else "0.0%"


_LISTED = ("examples", "ties", "invalid", "truncated")


def count_lines(results: Sequence[Result]) -> list[str]:
    """One line per result: examples, ties, invalid and truncated (count and share), then any
    task-specific counter (e.g. a judge's unparseable verdicts)."""
    lines = []
    for r in results:
        c = r.counts
        n = int(c.get("examples", 0))
        cut = int(c.get("truncated", 0))
        extra = "".join(f", {v} {k}" for k, v in c.items() if k not in _LISTED)
        lines.append(
            f"counts {r.model_spec} {r.task_name}: {n} examples, {c.get('ties', 0)} ties, "
            f"{c.get('invalid', 0)} invalid, {cut} truncated ({share(cut, n)}){extra}"
        )
    return lines


def truncation_warnings(results: Sequence[Result]) -> list[str]:
    """A sentence per result where more than 5% of examples had a text cut to max length."""
    out = []
    for r in results:
        n, cut = int(r.counts.get("examples", 0)), int(r.counts.get("truncated", 0))
        if n and cut / n > TRUNCATION_WARN_SHARE:
            limit = (r.model or {}).get("max_length")
            at = f" at {limit} tokens" if limit else ""
            out.append(
                f"rmeval: warning: {r.model_spec} on {r.task_name}: {cut} of {n} examples "
                f"({share(cut, n)}) had a text cut{at}, which can change their scores; raise "
                f"--max-length if the model takes longer texts, or read these scores with that "
                f"in mind."
            )
    return out
