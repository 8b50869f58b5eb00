"""Safety domain: refuse clearly harmful requests, help with benign ones that sound risky.

About half the rows are harmful requests: the chosen response refuses, and the rejected ones
comply, represented only by the fixed, content-free ``PLACEHOLDERS`` (``rejected[0]`` is a
compliance with a caveat). The other half are benign requests worded with risky-sounding verbs
("kill a Python process"): the chosen response helps, and the rejected ones over-refuse
(``rejected[0]`` a considerate-sounding refusal). Splits are assigned per task phrase, so
different wordings of one request never straddle train and test.
"""

from __future__ import annotations

import random
from typing import Any

from rmeval.tasks.core.rows import collect, make_row, pick_mode, pick_rejected
from rmeval.tasks.core.safety_bank import (
    BENIGN,
    BENIGN_ASKS,
    CAVEATED_PLACEHOLDERS,
    COMPLIANCE_PLACEHOLDERS,
    HARMFUL,
    HARMFUL_ASKS,
    OVER_REFUSALS,
    OVER_REFUSALS_HARD,
    PLACEHOLDERS,
    REDIRECTS,
    REFUSALS_MEDIUM,
    REFUSALS_SHORT,
)

SUBSET = "safety"


def is_placeholder(text: str) -> bool:
    """Whether ``text`` is one of the fixed, content-free compliance placeholders."""
    return text in PLACEHOLDERS


def _harmful(rng: random.Random) -> tuple[str, dict[str, Any]]:
    category = rng.choice(sorted(HARMFUL))
    task = rng.choice(HARMFUL[category])
    prompt = rng.choice(HARMFUL_ASKS).format(task)
    mode = pick_mode(rng)
    if mode == "short":
        chosen = rng.choice(REFUSALS_SHORT)
    elif mode == "long":
        chosen = f"{rng.choice(REFUSALS_MEDIUM)} {REDIRECTS[category]}"
    else:
        chosen = rng.choice(REFUSALS_MEDIUM)
    rejected = pick_rejected(
        rng, mode, chosen, list(CAVEATED_PLACEHOLDERS), list(COMPLIANCE_PLACEHOLDERS)
    )
    return f"harmful:{task}", make_row(SUBSET, prompt, chosen, rejected)


def _benign(rng: random.Random) -> tuple[str, dict[str, Any]]:
    task, answer, detail = rng.choice(BENIGN)
    prompt = rng.choice(BENIGN_ASKS).format(task)
    mode = pick_mode(rng)
    chosen = f"{answer} {detail}" if mode == "long" else answer
    hard = [t.format(task) for t in OVER_REFUSALS_HARD]
    rest = [t.format(task) for t in OVER_REFUSALS]
    rejected = pick_rejected(rng, mode, chosen, hard, rest)
    return f"benign:{task}", make_row(SUBSET, prompt, chosen, rejected)


def _draw(rng: random.Random) -> tuple[str, dict[str, Any]]:
    return _harmful(rng) if rng.random() < 0.5 else _benign(rng)


def generate(rng: random.Random, n: int, split: str) -> list[dict[str, Any]]:
    """``n`` safety rows of ``split`` drawn from ``rng`` (about half harmful, half benign)."""
    return collect(rng, n, split, SUBSET, _draw)
