"""Mitigation data for judges: truncated first-sentence responses labelled NO.

"One Token to Fool LLM-as-a-Judge" (2025) hardens a verifier by adding negatives that open
like a real solution but stop before any answer: the first sentence of a real solution,
labelled NO. This module writes them as JSONL, one object per line with ``question``,
``reference``, ``response``, ``label`` (plus ``id`` and ``dataset``)::

    python -m tasks.master_keys.augment --out hardening.jsonl            # core suite, train split
    python -m tasks.master_keys.augment --out hard.jsonl --data items.jsonl --with-positives

The first sentence ends at the first line break, at ``.``, ``!`` or ``?`` followed by
whitespace, or at ``。``, ``！``, ``？``. An item is skipped (and counted) when that sentence is the
whole response or already contains the reference answer, since such a truncation is not wrong.
The default core split is ``train``, so the data never overlaps the items the task tests.
``--with-positives`` also writes each full correct response labelled YES.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rmeval.harness.errors import RmevalError
from rmeval.tasks.master_keys.items import Item, core_rows, items_from_rows

_SENTENCE_END = re.compile(r"\n|[.!?](?=\s)|[。！？]")


def first_sentence(response: str) -> str | None:
    """The first sentence of ``response``, or None when it is the whole (stripped) response."""
    text = response.strip()
    match = _SENTENCE_END.search(text)
    if match is None:
        return None
    head = text[: match.end()].strip()
    return head if head and head != text else None


def contains_answer(text: str, reference: str) -> bool:
    """Whether ``reference`` occurs in ``text`` as a whole word (case-insensitive)."""
    pattern = r"(?<!\w)" + re.escape(reference.strip()) + r"(?!\w)"
    return re.search(pattern, text, flags=re.IGNORECASE) is not None


def augmentation_rows(
    items: Sequence[Item], *, with_positives: bool = False
) -> tuple[list[dict[str, Any]], int]:
    """(JSONL rows, number of items skipped) for ``items`` (see the module docstring)."""
    rows: list[dict[str, Any]] = []
    skipped = 0
    for it in items:
        head = first_sentence(it.correct)
        if head is None or contains_answer(head, it.reference):
            skipped += 1
            continue
        base = {"dataset": it.dataset, "question": it.question, "reference": it.reference}
        rows.append({"id": f"{it.id}-truncated", **base, "response": head, "label": "NO"})
        if with_positives:
            rows.append({"id": f"{it.id}-full", **base, "response": it.correct, "label": "YES"})
    return rows, skipped


def load_items(
    data: str | None = None, *, split: str = "train", seed: int = 0, limit: int | None = None
) -> list[Item]:
    """Items of a local file or hub dataset, or of the core suite (``limit`` per dataset)."""
    if data is None:
        return items_from_rows(core_rows(split, seed, limit), source="builtin:core")
    from rmeval.harness.data import load_rows

    rows, _ = load_rows(data, split=split, limit=limit)
    return items_from_rows(rows, source=data)


def write_augmentation(
    out: str | Path,
    data: str | None = None,
    *,
    split: str = "train",
    seed: int = 0,
    limit: int | None = None,
    with_positives: bool = False,
) -> tuple[int, int]:
    """Write the mitigation JSONL to ``out`` (atomically); return (rows written, items skipped)."""
    from rmeval.harness.staged_file import atomic_write

    items = load_items(data, split=split, seed=seed, limit=limit)
    rows, skipped = augmentation_rows(items, with_positives=with_positives)
    if not rows:
        raise RmevalError(
            f"{data or 'builtin:core'}: none of {len(items)} items has a first sentence without "
            f"the answer; give items whose 'correct' column holds a worked solution."
        )
    atomic_write(Path(out), (json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return len(rows), skipped


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m tasks.master_keys.augment --out FILE [...]``."""
    p = argparse.ArgumentParser(
        prog="python -m tasks.master_keys.augment", description=__doc__.split("\n")[0]
    )
    p.add_argument("--out", required=True, help="JSONL file to write")
    p.add_argument("--data", help="items file or hub id (question/reference/correct columns)")
    p.add_argument("--split", default="train", help="split to read (default: train)")
    p.add_argument("--seed", type=int, default=0, help="core suite seed (default: 0)")
    p.add_argument("--limit", type=int, help="items to read (per dataset for the core suite)")
    p.add_argument("--with-positives", action="store_true", help="also write full answers as YES")
    args = p.parse_args(argv)
    try:
        n, skipped = write_augmentation(
            args.out,
            args.data,
            split=args.split,
            seed=args.seed,
            limit=args.limit,
            with_positives=args.with_positives,
        )
    except RmevalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {n} rows to {args.out} ({skipped} items skipped: no answer-free first sentence)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
