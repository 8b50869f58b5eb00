"""Assemble the core suite: every domain's rows for one split and seed, interleaved."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from rmeval.tasks.core import arithmetic, coding, facts, focus, instructions, safety
from rmeval.tasks.core.rows import check_split, derived_rng

GENERATOR_VERSION = 1
"""Bump whenever a change alters any generated row (it is recorded as the dataset revision)."""

DOMAINS: dict[str, Callable[[random.Random, int, str], list[dict[str, Any]]]] = {
    arithmetic.SUBSET: arithmetic.generate,
    instructions.SUBSET: instructions.generate,
    facts.SUBSET: facts.generate,
    coding.SUBSET: coding.generate,
    safety.SUBSET: safety.generate,
    focus.SUBSET: focus.generate,
}
"""Subset name -> ``generate(rng, n, split)``."""

SIZES = {"test": 180, "train": 120}
"""Rows per domain in each split."""


def generate_rows(
    split: str = "test", seed: int = 0, n_per_domain: int | None = None
) -> list[dict[str, Any]]:
    """All rows of ``split`` for ``seed``: each domain from its own random stream, then
    interleaved (math, instruction, factual, code, safety, focus, math, ...) so that any
    prefix, as taken by ``--limit``, covers every domain. Same arguments, identical rows."""
    check_split(split)
    n = SIZES[split] if n_per_domain is None else n_per_domain
    per_domain = [
        generate(derived_rng("core", GENERATOR_VERSION, seed, split, name), n, split)
        for name, generate in DOMAINS.items()
    ]
    return [row for group in zip(*per_domain) for row in group]
