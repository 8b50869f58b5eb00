"""The core suite's row schema and what every domain generator shares.

A row is a dict with ``id``, ``subset``, ``prompt``, ``chosen``, ``rejected`` (exactly three
strings, hardest negative first), ``reference`` (short correct answer or None) and
``length_controlled`` (True when the chosen response is strictly shorter than every rejected
one). Which split an item belongs to is a fixed hash of its key, the same for every seed, so the
train and test splits can never share a prompt.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from typing import Any, Literal

from rmeval.harness.errors import RmevalError

SPLITS = ("test", "train")
TRAIN_PERCENT = 40
"""Share of the item space (by key hash) reserved for the train split."""

LengthMode = Literal["short", "long", "same"]
MODE_WEIGHTS: dict[str, float] = {"short": 0.35, "long": 0.35, "same": 0.3}
"""How often a row is built with the chosen response shorter than, longer than, or about as long
as the rejected ones: a length baseline (either sign) then cannot beat chance by much."""

Draw = Callable[[random.Random], "tuple[str, dict[str, Any]] | None"]


def check_split(split: str) -> None:
    """Raise a clear error for a split name the suite does not have."""
    if split not in SPLITS:
        raise RmevalError(f"split={split!r}: the core suite has the splits 'test' and 'train'.")


def split_of(key: str) -> str:
    """The split ('train' or 'test') an item key belongs to, independent of the seed."""
    digest = hashlib.sha256(f"core-split:{key}".encode()).digest()
    return "train" if int.from_bytes(digest[:8], "big") % 100 < TRAIN_PERCENT else "test"


def derived_rng(*parts: object) -> random.Random:
    """A private ``random.Random`` stream named by ``parts`` (never the global generator)."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def pick_mode(rng: random.Random) -> LengthMode:
    """Draw the planned length relation of one row (see ``MODE_WEIGHTS``)."""
    return rng.choices(list(MODE_WEIGHTS), weights=list(MODE_WEIGHTS.values()))[0]  # type: ignore[return-value]


def make_row(
    subset: str, prompt: str, chosen: str, rejected: list[str], reference: str | None = None
) -> dict[str, Any]:
    """A schema row (id filled in later); raises ValueError on a generator bug."""
    if len(rejected) != 3 or len(set(rejected)) != 3 or chosen in rejected:
        raise ValueError(f"{subset}: rejected must be 3 distinct texts unlike chosen: {prompt!r}")
    if not all(t.strip() for t in [prompt, chosen, *rejected]):
        raise ValueError(f"{subset}: empty text in row for {prompt!r}")
    return {
        "id": "",
        "subset": subset,
        "prompt": prompt,
        "chosen": chosen,
        "rejected": list(rejected),
        "reference": reference,
        "length_controlled": all(len(chosen) < len(r) for r in rejected),
    }


def collect(
    rng: random.Random, n: int, split: str, subset: str, draw: Draw
) -> list[dict[str, Any]]:
    """Call ``draw`` until ``n`` rows whose key lies in ``split`` have distinct prompts.

    ``draw`` returns ``(split_key, row)`` or None (nothing usable this time). Rows get ids
    ``<subset>-<split>-<index>`` in the order drawn.
    """
    check_split(split)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _ in range(200 * n + 1000):
        if len(rows) == n:
            break
        got = draw(rng)
        if got is None:
            continue
        key, row = got
        if split_of(key) != split or row["prompt"] in seen:
            continue
        seen.add(row["prompt"])
        row["id"] = f"{subset}-{split}-{len(rows):04d}"
        rows.append(row)
    if len(rows) < n:
        raise ValueError(f"{subset}: only {len(rows)} distinct {split} prompts, asked for {n}")
    return rows


def sentence(text: str) -> str:
    """``text`` with a capital first letter and a final full stop (kept if present)."""
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def fits(mode: str, chosen: str, text: str) -> bool:
    """Whether a rejected ``text`` has the length relation to ``chosen`` that ``mode`` plans."""
    if mode == "short":
        return len(text) > len(chosen)
    if mode == "long":
        return len(text) < len(chosen)
    return True


def pick_rejected(
    rng: random.Random, mode: str, chosen: str, hard: list[str], rest: list[str]
) -> list[str]:
    """Three distinct rejected texts: one from ``hard`` first, then two from ``rest``.

    Texts that fit the planned length ``mode`` are preferred; when too few fit, any will do
    (the row's ``length_controlled`` flag is computed from the real lengths anyway).
    """
    hard = [t for t in hard if t != chosen]
    first = rng.choice([t for t in hard if fits(mode, chosen, t)] or hard)
    others = [t for t in dict.fromkeys(rest) if t not in (chosen, first)]
    fitting = [t for t in others if fits(mode, chosen, t)]
    return [first, *rng.sample(fitting if len(fitting) >= 2 else others, 2)]
