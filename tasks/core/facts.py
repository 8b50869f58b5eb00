"""Factual domain: short questions from the fact table, answered right vs plausibly wrong.

The chosen response states the correct answer; the rejected ones state plausible wrong answers
(``rejected[0]`` the most tempting one, e.g. Sydney for the capital of Australia). A fact
belongs to one split only (by its key), whatever phrasing asks about it. ``reference`` is the
correct short answer, so rows double as (question, reference) pairs.
"""

from __future__ import annotations

import random
from typing import Any

from rmeval.tasks.core.fact_table import (
    BOOKS,
    CAPITALS,
    ELEMENTS,
    NOTES,
    PLANETS,
    SCIENCE,
    UNITS,
    Fact,
    items,
)
from rmeval.tasks.core.rows import collect, make_row, pick_mode, sentence, split_of

SUBSET = "factual"
FRAMES = [
    "{}",
    "Quick question: {}",
    "I'm studying for a quiz. {}",
    "Can you help me with this? {}",
]


def _capitals() -> list[Fact]:
    facts = []
    for country, capital, region, tempting in CAPITALS:
        others = [c for _, c, r, _ in CAPITALS if r == region and c != capital]
        others += [c for _, c, r, _ in CAPITALS if r != region][: max(0, 3 - len(others))]
        questions = (
            f"What is the capital of {country}?",
            f"Which city is the capital of {country}?",
        )
        statement = f"The capital of {country} is {{}}."
        facts.append(
            Fact(
                f"capital:{country}", "capital", questions, capital, (tempting, *others), statement
            )
        )
    return facts


def _elements() -> list[Fact]:
    """Both directions (element -> symbol, symbol -> element) under one key."""
    facts = []
    for name, symbol, tempting in ELEMENTS:
        wrong = [s for s in items(tempting) if s != symbol]
        wrong += [s for _, s, _ in ELEMENTS if s[0] == symbol[0] and s not in (symbol, *wrong)]
        wrong += [s for _, s, _ in ELEMENTS if s not in (symbol, *wrong)]
        question = f"What is the chemical symbol for {name}?"
        statement = f"The chemical symbol for {name} is {{}}."
        facts.append(Fact(f"symbol:{name}", "symbol", (question,), symbol, tuple(wrong), statement))
        names = [n for n, _, _ in ELEMENTS if n != name and n[0] == symbol[0].lower()]
        names += [n for n, _, _ in ELEMENTS if n not in (name, *names)]
        question = f"Which element has the chemical symbol {symbol}?"
        statement = f"The element with the chemical symbol {symbol} is {{}}."
        facts.append(Fact(f"symbol:{name}", "symbol", (question,), name, tuple(names), statement))
    return facts


def _simple(category: str, rows: list[list[str]]) -> list[Fact]:
    """Facts from rows of (key, questions, answer, wrong answers, statement)."""
    return [
        Fact(
            f"{category}:{key}", category, items(questions, " // "), answer, items(wrong), statement
        )
        for key, questions, answer, wrong, statement in rows
    ]


def _books() -> list[Fact]:
    return [
        Fact(
            f"book:{title}",
            "book",
            (f"Who wrote '{title}'?", f"Which author wrote '{title}'?"),
            author,
            items(wrong),
            f"'{title}' was written by {{}}.",
        )
        for title, author, wrong in BOOKS
    ]


FACTS: list[Fact] = [
    *_capitals(),
    *_elements(),
    *_simple("planet", PLANETS),
    *_simple("unit", UNITS),
    *_books(),
    *_simple("science", SCIENCE),
]
"""Every fact, in a fixed order. Both directions of a chemical symbol share one key."""


def fact_split(fact: Fact) -> str:
    """The split a fact (and every question about it) belongs to."""
    return split_of(f"fact:{fact.key}")


def answer_text(fact: Fact, answer: str, style: str) -> str:
    """A response giving ``answer``: 'short' (the answer alone), 'sentence' or 'long'."""
    if style == "short":
        return sentence(answer)
    stated = sentence(fact.statement.format(answer))
    return stated if style == "sentence" else f"{stated} {NOTES[fact.category]}"


def _draw(rng: random.Random) -> tuple[str, dict[str, Any]]:
    fact = rng.choice(FACTS)
    prompt = rng.choice(FRAMES).format(rng.choice(fact.questions))
    wrong = [fact.wrong[0], *rng.sample(fact.wrong[1:], 2)]
    mode = pick_mode(rng)
    good, bad = {"short": ("short", "long"), "long": ("long", "short")}.get(
        mode, ("sentence", "sentence")
    )
    chosen = answer_text(fact, fact.answer, good)
    rejected = [answer_text(fact, w, bad) for w in wrong]
    return f"fact:{fact.key}", make_row(SUBSET, prompt, chosen, rejected, fact.answer)


def generate(rng: random.Random, n: int, split: str) -> list[dict[str, Any]]:
    """``n`` factual rows of ``split`` drawn from ``rng``."""
    return collect(rng, n, split, SUBSET, _draw)
