"""Verdict grammars of the generating judge: how a reply's text becomes a verdict.

Every parser is pure and returns None for a reply it cannot read (empty, a refusal, two
different verdicts): the caller counts it, it never becomes NO or B by default.

- **pointwise** (YES/NO): the bracketed forms ``[[YES]]`` / ``[[NO]]`` if present, else the whole
  words ``yes`` / ``no`` in any case. Exactly one of the two must occur; both, or neither, is
  unparseable.
- **pairwise** (A/B): ``[[A]]``, ``[[B]]``, or ``[[C]]`` for a tie (MT-Bench's tie label); a
  reply that is a lone ``A`` or ``B`` (punctuation aside) also counts. Both ``[[A]]`` and
  ``[[B]]`` is unparseable (RewardBench's reference would take A: rmeval does not guess).
- **choice** (best of n, labels A, B, C, ...): ``[[X]]`` with X one of the labels shown, exactly
  one distinct label; or a lone label as the whole reply.
- **rating** (1-10): ``[[N]]`` with a number N from 1 to 10 (decimals such as ``8.5`` kept),
  exactly one distinct value; else ``Rating: N``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

TIE = "tie"
"""The pairwise verdict for ``[[C]]``."""

_WORD = re.compile(r"\b(yes|no)\b", re.IGNORECASE)
_NUMBER = r"\d+(?:\.\d+)?"
_BRACKETED = re.compile(rf"\[\[\s*([A-Za-z]+|{_NUMBER})\s*\]\]")
_LONE = re.compile(r"^\W*([A-Za-z])\W*$")
_RATING = re.compile(rf"rating\s*[:=]?\s*({_NUMBER})", re.IGNORECASE)


def _one(found: Sequence[str]) -> str | None:
    distinct = set(found)
    return distinct.pop() if len(distinct) == 1 else None


def parse_yes_no(text: str) -> str | None:
    """``YES``, ``NO`` or None (see the module docstring)."""
    bracketed = [m.upper() for m in _BRACKETED.findall(text) if m.upper() in {"YES", "NO"}]
    if bracketed:
        return _one(bracketed)
    return _one([m.upper() for m in _WORD.findall(text)])


def parse_label(text: str, labels: Sequence[str]) -> str | None:
    """One of ``labels`` named as ``[[X]]`` (exactly one distinct) or as the lone reply."""
    allowed = {label.upper() for label in labels}
    bracketed = [m.upper() for m in _BRACKETED.findall(text) if m.upper() in allowed]
    if bracketed:
        return _one(bracketed)
    lone = _LONE.match(text.strip())
    if lone and lone.group(1).upper() in allowed:
        return lone.group(1).upper()
    return None


def parse_pair(text: str) -> str | None:
    """``A``, ``B``, :data:`TIE` (``[[C]]``) or None."""
    label = parse_label(text, ("A", "B", "C"))
    if label == "C":
        return TIE if "[[" in text else None  # a lone "C" is not MT-Bench's tie form
    return label


def parse_rating(text: str, low: int = 1, high: int = 10) -> float | None:
    """A rating in ``[low, high]`` (decimals kept, as MT-Bench's ``[[8.5]]``) from ``[[N]]``,
    else ``Rating: N``; None otherwise."""
    values = [float(m) for m in _BRACKETED.findall(text) if m[0].isdigit()]
    if not values:
        values = [float(m) for m in _RATING.findall(text)]
    distinct = set(values)
    if len(distinct) != 1:
        return None
    value = distinct.pop()
    return value if low <= value <= high else None


def labels_for(n: int) -> list[str]:
    """The labels of ``n`` responses: A, B, C, ..."""
    if not 2 <= n <= 26:
        raise ValueError(f"a choice needs 2 to 26 responses, not {n}")
    return [chr(ord("A") + i) for i in range(n)]
