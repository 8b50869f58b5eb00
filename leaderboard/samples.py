"""The sample browser's data: the hardest examples of a run, read the way its task declares.

A task writes ``task.samples_view`` into its result file (see ``harness.task.Task``): which
sample lines are *wrong* and what their *margin* is (how badly wrong, largest first). A task
that declares none gets no panel. Samples files hold scores and text hashes, not texts; when a
line carries an optional ``texts`` list (candidate texts in score order) and/or a ``prompt``
string, they are shown (escaped).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmeval.harness.errors import RmevalError
from rmeval.harness.result_fields import Fields, is_number

HARDEST = 20
WRONG = {
    "credit<1": "credit below 1",
    "credit>0": "credit above 0 (a key fooled the model)",
    "margin>=0": "margin at or above 0",
}
"""Rules a task may name as ``samples_view.wrong``, with how the page words them."""
MARGIN = {
    "best_rejected_minus_worst_chosen": "best rejected score minus worst chosen score",
    "best_key_minus_wrong": "best key score minus the wrong answer's score",
    "best_key_minus_threshold": "best key P(YES) minus the acceptance threshold",
    "predicted_minus_label": "probability of the predicted class minus that of the true class",
}
"""Rules a task may name as ``samples_view.margin``."""
CANDIDATES = ("chosen/rejected", "correct/wrong/keys", "class probabilities")
_RERUN = "rerun the same `rmeval run` command to rewrite it"


@dataclass(frozen=True)
class SampleView:
    """A task's declaration of how its sample lines are read."""

    wrong: str
    margin: str
    candidates: str
    n_chosen: int | str = 1
    """Leading candidates that are chosen: a number or the name of an integer line field."""
    threshold: float | None = None

    @property
    def summary(self) -> str:
        """One sentence for the page: what is listed, in which order."""
        return f"Examples with {WRONG[self.wrong]}, by {MARGIN[self.margin]}, largest first."


@dataclass(frozen=True)
class Candidate:
    """One scored thing of an example: a response, a key, or a class."""

    label: str
    score: float | None
    text: str | None = None
    text_hash: str | None = None


@dataclass(frozen=True)
class Hard:
    """One wrong example and by how much the model got it wrong."""

    id: str
    subset: str
    margin: float
    candidates: list[Candidate]
    tie: bool
    truncated: bool
    prompt: str | None
    stored_texts: bool
    """The line carried its texts (``texts`` or ``prompt``), not only their hashes."""
    facts: list[tuple[str, str]] = field(default_factory=list)
    """Other line fields worth showing (true class, reference answer, ...)."""


def parse_view(path: Path, raw: Any) -> SampleView | None:
    """The result's ``task.samples_view`` checked field by field (None: no panel)."""
    if raw is None:
        return None
    f = Fields(path)
    view = f.obj(raw, "task.samples_view")
    for name, allowed in (("wrong", WRONG), ("margin", MARGIN), ("candidates", CANDIDATES)):
        if view.get(name) not in allowed:
            f.fail(f"task.samples_view.{name}", f"must be one of {', '.join(allowed)}")
    n_chosen = view.get("n_chosen", 1)
    if not (isinstance(n_chosen, str) and n_chosen) and not (
        isinstance(n_chosen, int) and not isinstance(n_chosen, bool) and n_chosen >= 1
    ):
        f.fail("task.samples_view.n_chosen", "must be a positive whole number or a field name")
    threshold = view.get("threshold")
    if view["margin"] == "best_key_minus_threshold":
        threshold = f.number(threshold, "task.samples_view.threshold", optional=False)
    return SampleView(view["wrong"], view["margin"], view["candidates"], n_chosen, threshold)


class Line:
    """One samples line, its fields checked as they are read."""

    def __init__(self, path: Path, lineno: int, data: Any) -> None:
        self.f = Fields(Path(f"{path}:{lineno}"), _RERUN)
        self.data = self.f.obj(data, "line")
        scores = self.data.get("scores")
        if not isinstance(scores, list) or not all(s is None or is_number(s) for s in scores):
            self.f.fail("scores", "must be a list of numbers (null where invalid)")
        self.scores: list[float | None] = scores
        self.credit = self.f.number(self.data.get("credit"), "credit")
        self.invalid = bool(self.data.get("invalid")) or any(s is None for s in scores)

    def index(self, name: str, size: int, low: int = 0) -> int:
        """An integer field that must lie in ``[low, size)``."""
        value = self.data.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value < size:
            self.f.fail(name, f"must be a whole number from {low} to {size - 1}")
        return value

    def strings(self, name: str) -> list[str] | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.f.fail(name, "must be a list of strings")
        return value


def _n_chosen(view: SampleView, line: Line) -> int:
    if isinstance(view.n_chosen, int):
        k = view.n_chosen
        if not 1 <= k < len(line.scores):
            line.f.fail("scores", f"must hold more than the {k} chosen candidates")
        return k
    return line.index(view.n_chosen, len(line.scores), low=1)


def _best_rejected_minus_worst_chosen(view: SampleView, line: Line) -> float:
    k = _n_chosen(view, line)
    return max(line.scores[k:]) - min(line.scores[:k])  # type: ignore[type-var,operator]


def _key_scores(line: Line) -> list[float]:
    if len(line.scores) < 3:
        line.f.fail("scores", "must hold the correct answer, the wrong answer and the keys")
    return line.scores[2:]  # type: ignore[return-value]


def _best_key_minus_wrong(view: SampleView, line: Line) -> float:
    return max(_key_scores(line)) - line.scores[1]  # type: ignore[operator]


def _best_key_minus_threshold(view: SampleView, line: Line) -> float:
    return max(_key_scores(line)) - view.threshold  # type: ignore[operator]


def _predicted_minus_label(view: SampleView, line: Line) -> float:
    n = len(line.scores)
    predicted, label = line.index("prediction", n), line.index("label", n)
    return line.scores[predicted] - line.scores[label]  # type: ignore[operator]


MARGINS: dict[str, Callable[[SampleView, Line], float]] = {
    "best_rejected_minus_worst_chosen": _best_rejected_minus_worst_chosen,
    "best_key_minus_wrong": _best_key_minus_wrong,
    "best_key_minus_threshold": _best_key_minus_threshold,
    "predicted_minus_label": _predicted_minus_label,
}


def wrong_margin(view: SampleView, line: Line) -> float | None:
    """The margin of a valid line the view calls wrong, else None."""
    if line.invalid or (line.credit is None and view.wrong != "margin>=0"):
        return None
    if view.wrong == "credit<1" and line.credit >= 1:  # type: ignore[operator]
        return None
    if view.wrong == "credit>0" and line.credit <= 0:  # type: ignore[operator]
        return None
    margin = float(MARGINS[view.margin](view, line))
    return None if view.wrong == "margin>=0" and margin < 0 else margin


def read_lines(path: Path) -> list[Line]:
    """Every non-blank line of a samples file, parsed."""
    lines = []
    with path.open(encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except ValueError as exc:
                raise RmevalError(f"{path}:{lineno}: not a JSON line ({exc}); {_RERUN}.") from exc
            lines.append(Line(path, lineno, data))
    return lines


def hardest(path: Path, view: SampleView, k: int = HARDEST) -> list[Hard]:
    """The ``k`` wrong examples with the largest margins (ties broken by id), largest first."""
    wrong = []
    for order, line in enumerate(read_lines(path)):
        margin = wrong_margin(view, line)
        if margin is not None:
            wrong.append((-margin, str(line.data.get("id")), order, line))
    wrong.sort(key=lambda t: t[:3])
    return [_hard(view, line, -neg) for neg, _, _, line in wrong[:k]]


def _hard(view: SampleView, line: Line, margin: float) -> Hard:
    d = line.data
    prompt = d.get("prompt") if isinstance(d.get("prompt"), str) else None
    texts = line.strings("texts")
    hashes = line.strings("text_hashes") or []
    candidates, facts = _candidates(view, line, texts, hashes)
    return Hard(
        id=str(d.get("id")),
        subset=str(d.get("subset", "")),
        margin=margin,
        candidates=candidates,
        tie=bool(d.get("tie")),
        truncated=bool(d.get("truncated")),
        prompt=prompt,
        stored_texts=texts is not None or prompt is not None,
        facts=facts,
    )


def _candidates(
    view: SampleView, line: Line, texts: list[str] | None, hashes: list[str]
) -> tuple[list[Candidate], list[tuple[str, str]]]:
    """Labelled candidates and extra facts of one line, by the view's candidate kind."""
    scores = line.scores

    def at(items: list[str] | None, i: int) -> str | None:
        return items[i] if items is not None and i < len(items) else None

    if view.candidates == "class probabilities":
        label, pred = line.index("label", len(scores)), line.index("prediction", len(scores))
        cands = [
            Candidate(f"P(label {i})" + _mark(i, label, pred), s) for i, s in enumerate(scores)
        ]
        facts = [("true class", str(d)) for d in [line.data.get("class")] if d is not None]
        facts += [("response text", t) for t in texts or []]
        return cands, facts + [("response text hash", h) for h in hashes]
    if view.candidates == "correct/wrong/keys":
        keys = line.strings("keys") or []
        names = ["correct answer", "wrong answer"] + [f"key {json.dumps(k)}" for k in keys]
        cands = [
            Candidate(at(names, i) or f"candidate {i}", s, at(texts, i), at(hashes, i))
            for i, s in enumerate(scores)
        ]
        ref = line.data.get("reference")
        return cands, [("reference", str(ref))] if ref is not None else []
    k = view.n_chosen if isinstance(view.n_chosen, int) else _n_chosen(view, line)
    cands = [
        Candidate("chosen" if i < k else "rejected", s, at(texts, i), at(hashes, i))
        for i, s in enumerate(scores)
    ]
    return cands, []


def _mark(i: int, label: int, prediction: int) -> str:
    marks = [m for m, j in (("true", label), ("predicted", prediction)) if i == j]
    return f" · {', '.join(marks)}" if marks else ""
