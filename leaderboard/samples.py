"""The sample browser's data: the hardest examples of a run (largest wrong margins).

Samples files hold scores and text hashes, not texts. When a line carries an optional
``texts`` list (candidate texts in score order) and/or a ``prompt`` string, they are shown
(escaped); otherwise the page says that no texts are stored and shows the hashes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import RmevalError

HARDEST = 20


@dataclass(frozen=True)
class Hard:
    """One wrongly ranked example and by how much the model got it wrong."""

    id: str
    subset: str
    margin: float
    """Best rejected score minus the chosen score (>= 0: the model preferred a rejected one)."""
    scores: list[float | None]
    tie: bool
    truncated: bool
    prompt: str | None
    texts: list[str] | None
    text_hashes: list[str]


def wrong_margin(line: dict[str, Any]) -> float | None:
    """Best rejected minus chosen score for a wrong (credit < 1) valid example, else None."""
    scores = line.get("scores") or []
    credit = line.get("credit")
    if line.get("invalid") or credit is None or credit >= 1 or len(scores) < 2:
        return None
    if any(not isinstance(s, int | float) or not math.isfinite(s) for s in scores):
        return None
    return float(max(scores[1:]) - scores[0])


def _texts(line: dict[str, Any]) -> list[str] | None:
    texts = line.get("texts")
    if isinstance(texts, list) and all(isinstance(t, str) for t in texts):
        return texts
    return None


def hardest(path: Path, k: int = HARDEST) -> list[Hard]:
    """The ``k`` wrong examples with the largest margins (ties broken by id), best first."""
    wrong: list[tuple[float, str, int, dict[str, Any]]] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except ValueError as exc:
                raise RmevalError(
                    f"{path}:{lineno}: not a JSON line ({exc}); regenerate the samples file."
                ) from exc
            margin = wrong_margin(line) if isinstance(line, dict) else None
            if margin is not None:
                wrong.append((-margin, str(line.get("id")), lineno, line))
    wrong.sort(key=lambda t: t[:3])
    return [_hard(line, -neg) for neg, _, _, line in wrong[:k]]


def _hard(line: dict[str, Any], margin: float) -> Hard:
    prompt = line.get("prompt")
    return Hard(
        id=str(line.get("id")),
        subset=str(line.get("subset", "")),
        margin=margin,
        scores=list(line.get("scores") or []),
        tie=bool(line.get("tie")),
        truncated=bool(line.get("truncated")),
        prompt=prompt if isinstance(prompt, str) else None,
        texts=_texts(line),
        text_hashes=[str(h) for h in line.get("text_hashes") or []],
    )
