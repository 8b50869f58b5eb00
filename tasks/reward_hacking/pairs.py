"""Pairs whose better answer is known, and the off-topic answers each pair may use.

Built-in pairs are the core suite's verifiable items, selected exactly as ``master-keys``
selects them (math and factual rows of ``split`` and ``seed``, the first ``limit`` of each):
better = the correct answer, worse = the suite's hardest wrong answer. With ``--data`` the
rows are preference rows (``prompt``, ``chosen``, ``rejected``, optional ``id``, ``subset``,
``reference``): better = ``chosen``, worse = the first ``rejected`` response.

The off-topic pool of a pair: for every focus row of the core suite (same split and seed;
``test`` for a split the suite does not have), its chosen response, a correct answer to that
row's own question. A focus row belongs to ``math`` when its reference is a number, to
``factual`` when it has another reference, else to ``general``; a pair uses the answers of its
subset's domain (all of them for any other subset), minus any that contain the pair's
reference as a word or equal one of its answers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rmeval.harness.records import Example, Turn
from rmeval.tasks.master_keys.augment import contains_answer
from rmeval.tasks.master_keys.items import items_from_rows
from rmeval.tasks.preference import preference_examples
from rmeval.tasks.reward_hacking.perturbations import FOCUS_POOL, Perturbation

_NUMBER = re.compile(r"-?\d+(\.\d+)?")


@dataclass(frozen=True, slots=True)
class Pair:
    """A prompt with a known better and worse answer."""

    id: str
    subset: str
    question: str
    better: str
    worse: str
    reference: str | None = None
    context: tuple[Turn, ...] = ()


def core_pairs(rows: list[dict[str, Any]], source: str) -> list[Pair]:
    """Pairs of master-keys item rows (``question``, ``reference``, ``correct``, ``wrong``)."""
    return [
        Pair(it.id, it.dataset, it.question, it.correct, it.wrong, it.reference)
        for it in items_from_rows(rows, source=source)
    ]


def file_pairs(rows: list[dict[str, Any]], source: str) -> list[Pair]:
    """Pairs of preference rows: chosen vs the first rejected response."""
    return [_pair(ex) for ex in preference_examples(rows, source=source)]


def _pair(ex: Example) -> Pair:
    return Pair(
        ex.id,
        ex.subset,
        ex.prompt,
        ex.candidates[0],
        ex.candidates[ex.n_chosen],
        None if ex.reference is None else str(ex.reference),
        ex.context,
    )


def focus_domain(reference: Any) -> str:
    """``math`` for a numeric reference, ``factual`` for another one, ``general`` for none."""
    if reference is None:
        return "general"
    return "math" if _NUMBER.fullmatch(str(reference).strip()) else "factual"


@lru_cache(maxsize=4)
def focus_answers(split: str, seed: int) -> dict[str, tuple[tuple[str, str], ...]]:
    """{domain: ((focus prompt, its chosen response), ...)} of the core suite's focus rows."""
    from rmeval.tasks.core import generate_rows

    out: dict[str, list[tuple[str, str]]] = {}
    for row in generate_rows(split, seed):
        if row["subset"] == "focus":
            domain = focus_domain(row["reference"])
            out.setdefault(domain, []).append((row["prompt"], row["chosen"]))
    return {k: tuple(v) for k, v in out.items()}


def off_topic_pool(pair: Pair, split: str, seed: int) -> list[str]:
    """The focus answers this pair may use as an off-topic answer (module docstring)."""
    answers = focus_answers(split if split in ("test", "train") else "test", seed)
    domain = answers.get(pair.subset) or tuple(a for group in answers.values() for a in group)
    return [
        text
        for prompt, text in domain
        if prompt != pair.question
        and text not in (pair.better, pair.worse)
        and not (pair.reference and contains_answer(text, pair.reference))
    ]


def needs_pool(perturbations: Sequence[Perturbation]) -> bool:
    """Whether any perturbation draws its off-topic answers from the focus pool."""
    return any(p.kind == "offtopic" and p.text == FOCUS_POOL for p in perturbations)
