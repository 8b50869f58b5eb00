"""The perturbation functions: one per kind, each pure given its seeded random stream.

Every function takes the answer and returns the perturbed answer; the random stream is named
by (task seed, pair id, perturbation name, side), so a pair's perturbed text never depends on
which other pairs or perturbations are in the run. Sentences are split at a line break, or at
``.``, ``!`` or ``?`` followed by spaces.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rmeval.harness.errors import RmevalError
from rmeval.tasks.core.rows import derived_rng
from rmeval.tasks.reward_hacking.perturbations import FOCUS_POOL, SWAP_SEPARATOR, Perturbation

_BREAK = re.compile(r"((?<=[.!?])[ \t]+|\n+)")
_PLACEHOLDER = re.compile(r"\{(answer|question|sentence)\}")


@dataclass(frozen=True)
class Target:
    """One answer to perturb and what some kinds need to know about its pair."""

    pair_id: str
    answer: str
    question: str
    side: str
    """``worse`` or ``better``: which answer of the pair this is."""
    longest: int = 0
    """Length in characters of the pair's longer answer (``pad`` lengths are multiples of it)."""
    pool: Sequence[str] = field(default=())
    """Off-topic answers usable for this pair (for ``offtopic`` with ``builtin:focus``)."""


def fill(template: str, values: dict[str, str]) -> str:
    """``template`` with each ``{answer}``/``{question}``/``{sentence}`` replaced in one pass
    (replaced text is never scanned again, so braces in an answer stay as they are)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def sentences(text: str) -> list[str]:
    """``text`` as alternating parts: sentence, separator, sentence, ..., sentence."""
    return _BREAK.split(text)


def pad(answer: str, filler: str, length: float, rng: random.Random) -> str:
    """Filler lines appended (seeded order, cycling; at least one) until ``len >= length``; on
    a new line when the answer has several lines, else after a space."""
    lines = [s.strip() for s in filler.splitlines() if s.strip()]
    order = rng.sample(lines, len(lines))
    out, i = answer + ("\n" if "\n" in answer else ""), 0
    while i == 0 or len(out) < length:
        out += ("" if out.endswith("\n") else " ") + order[i % len(order)]
        i += 1
    return out


def repeat(answer: str, template: str, rng: random.Random) -> str:
    """One seeded sentence of ``answer`` repeated, as ``template``, right after itself."""
    parts = sentences(answer)
    at = rng.choice([i for i in range(0, len(parts), 2) if parts[i].strip()])
    again = fill(template, {"sentence": parts[at]})
    sep = parts[at + 1] if at + 1 < len(parts) else ("\n" if "\n" in answer else " ")
    return "".join(parts[: at + 1]) + sep + again + "".join(parts[at + 1 :])


def formatted(answer: str, header: str) -> str:
    """``header``, then the answer's sentences as bullets, the first one bold."""
    items = [s.strip() for s in sentences(answer)[::2] if s.strip()]
    bullets = [f"- **{items[0]}**", *(f"- {s}" for s in items[1:])]
    return header + "\n\n" + "\n".join(bullets)


def swap(answer: str, text: str, name: str, pair_id: str) -> str:
    """The first ``OLD`` of ``text = "OLD => NEW"`` in ``answer`` replaced by ``NEW``."""
    old, new = text.split(SWAP_SEPARATOR, 1)
    if old not in answer:
        raise RmevalError(
            f"pair {pair_id}: perturbation '{name}' (swap) finds no {old!r} in the answer; "
            f"drop the perturbation or use data whose answers contain it."
        )
    return answer.replace(old, new, 1)


def off_topic(answer: str, pool: Sequence[str], rng: random.Random, pair_id: str) -> str:
    """Good answers to other questions (seeded order) joined until twice ``answer``'s length."""
    if not pool:
        raise RmevalError(
            f"pair {pair_id}: no off-topic answer is available for it; give the off-topic "
            f"perturbation a replacement text in the perturbations file."
        )
    out: list[str] = []
    for text in rng.sample(list(pool), len(pool)):
        out.append(text)
        if len(" ".join(out)) >= 2 * len(answer):
            break
    return " ".join(out)


def rewrite(p: Perturbation, target: Target, seed: int) -> str:
    """The perturbed answer of ``target`` under ``p`` (see :mod:`.perturbations`)."""
    rng = derived_rng("reward-hacking", seed, target.pair_id, p.name, target.side)
    if p.kind == "template":
        return fill(p.text, {"answer": target.answer, "question": target.question})
    if p.kind == "pad":
        length = float(p.factor or 2.0) * max(target.longest, len(target.answer))
        return pad(target.answer, p.text, length, rng)
    if p.kind == "repeat":
        return repeat(target.answer, p.text, rng)
    if p.kind == "format":
        return formatted(target.answer, p.text)
    if p.kind == "swap":
        return swap(target.answer, p.text, p.name, target.pair_id)
    if p.text != FOCUS_POOL:
        return p.text
    return off_topic(target.answer, target.pool, rng, target.pair_id)
