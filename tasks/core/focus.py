"""Focus domain: an on-topic answer vs good answers to different questions.

Every rejected response is a correct, well-formed answer to some other question, so only
attention to what was asked separates it from the chosen one. ``rejected[0]`` answers the
closest other question (same numbers with a different operation, a sibling how-to question,
another fact of the same kind). Families: arithmetic, unit conversion, word questions, facts
from the fact table, and practical how-to questions.
"""

from __future__ import annotations

import operator
import random
from typing import Any

from rmeval.tasks.core.fact_table import NOTES
from rmeval.tasks.core.facts import FACTS
from rmeval.tasks.core.focus_bank import CONVERSIONS, HOWTO, WORDS
from rmeval.tasks.core.rows import collect, make_row, pick_mode, sentence

SUBSET = "focus"
Answer = tuple[str, str]
"""A response as (statement, elaboration); the long form appends the elaboration."""
Item = tuple[str, str, str | None, Answer, list[Answer]]
"""(split key, prompt, reference, on-topic answer, off-topic answers hardest first)."""
OPS = {"plus": operator.add, "minus": operator.sub, "times": operator.mul}
FRAMES = ["{}", "Quick question: {}", "Could you help me with something? {}"]
FACT_FRAMES = ["Here is my question: {}", "Could you help me with something? {}", "{} Thanks!"]
"""Unlike the factual domain's frames, so that no prompt appears in both domains."""


def _arithmetic(rng: random.Random) -> Item:
    a = rng.randint(10, 99)
    b = rng.randint(2, a - 1)
    word = rng.choice(sorted(OPS))
    note = "You can check it with a calculator."

    def says(x: int, w: str, y: int) -> Answer:
        return f"{x} {w} {y} is {OPS[w](x, y)}.", note

    prompt = rng.choice(["What is {} {} {}?", "Can you work out {} {} {}?"]).format(a, word, b)
    off = [says(a, word, b + 1)] + [says(a, w, b) for w in sorted(OPS) if w != word]
    return prompt, prompt, str(OPS[word](a, b)), says(a, word, b), off


def _conversion(rng: random.Random) -> Item:
    n = rng.randint(2, 12)
    big, small, factor = rng.choice(CONVERSIONS)
    note = "That comes from multiplying by the conversion factor."

    def says(bg: str, sm: str, f: int) -> Answer:
        return f"There are {n * f} {sm} in {n} {bg}.", note

    prompt = f"How many {small} are in {n} {big}?"
    others = [c for c in CONVERSIONS if c != (big, small, factor)]
    near = [c for c in others if {big, small} & set(c[:2]) or c[2] == factor]
    far = [c for c in others if c not in near]
    off = [says(*rng.choice(near)), *(says(*c) for c in rng.sample(far, 2))]
    return prompt, prompt, str(n * factor), says(big, small, factor), off


def _word(rng: random.Random) -> Item:
    w = rng.choice(WORDS)
    vowels = sum(c in "aeiou" for c in w)
    kinds = {
        "letters": (
            f"How many letters are in the word '{w}'?",
            f"The word '{w}' has {len(w)} letters.",
            str(len(w)),
        ),
        "vowels": (
            f"How many vowels (a, e, i, o, u) are in the word '{w}'?",
            f"The word '{w}' has {vowels} vowel{'s' * (vowels != 1)}.",
            str(vowels),
        ),
        "reversed": (
            f"What is the word '{w}' spelled backwards?",
            f"'{w}' spelled backwards is '{w[::-1]}'.",
            w[::-1],
        ),
        "first": (
            f"What is the first letter of the word '{w}'?",
            f"The first letter of '{w}' is '{w[0]}'.",
            w[0],
        ),
        "last": (
            f"What is the last letter of the word '{w}'?",
            f"The last letter of '{w}' is '{w[-1]}'.",
            w[-1],
        ),
    }
    asked = rng.choice(sorted(kinds))
    note = "I checked it letter by letter."
    prompt, statement, reference = kinds[asked]
    off = [(kinds[k][1], note) for k in rng.sample(sorted(set(kinds) - {asked}), 3)]
    return prompt, prompt, reference, (statement, note), off


def _fact(rng: random.Random) -> Item:
    fact = rng.choice(FACTS)

    def says(f: Any) -> Answer:
        return sentence(f.statement.format(f.answer)), NOTES[f.category]

    others = [f for f in FACTS if f.key != fact.key and f.answer != fact.answer]
    near = [f for f in others if f.category == fact.category]
    far = [f for f in others if f.category != fact.category]
    off = [says(rng.choice(near)), *(says(f) for f in rng.sample(far, 2))]
    prompt = rng.choice(FACT_FRAMES).format(rng.choice(fact.questions))
    return f"fact:{fact.key}", prompt, fact.answer, says(fact), off


def _howto(rng: random.Random) -> Item:
    cluster = rng.choice(sorted(HOWTO))
    question, answer, detail = rng.choice(HOWTO[cluster])
    siblings = [(a, d) for q, a, d in HOWTO[cluster] if q != question]
    far = [(a, d) for c in sorted(HOWTO) if c != cluster for _, a, d in HOWTO[c]]
    off = [rng.choice(siblings), *rng.sample(far, 2)]
    prompt = rng.choice(FRAMES).format(question)
    return f"howto:{question}", prompt, None, (answer, detail), off


FAMILIES = [_arithmetic, _conversion, _word, _fact, _howto]


def _text(answer: Answer, long: bool) -> str:
    return f"{answer[0]} {answer[1]}" if long else answer[0]


def _draw(rng: random.Random) -> tuple[str, dict[str, Any]] | None:
    key, prompt, reference, good, off = rng.choice(FAMILIES)(rng)
    mode = pick_mode(rng)
    chosen = _text(good, mode == "long")
    rejected = [_text(a, mode == "short") for a in off[:3]]
    if len(set(rejected)) < 3 or chosen in rejected:
        return None
    return key, make_row(SUBSET, prompt, chosen, rejected, reference)


def generate(rng: random.Random, n: int, split: str) -> list[dict[str, Any]]:
    """``n`` focus rows of ``split`` drawn from ``rng``."""
    return collect(rng, n, split, SUBSET, _draw)
