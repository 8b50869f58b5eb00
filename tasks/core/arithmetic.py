"""Math domain: multi-step integer word problems, worked correctly vs with one wrong step.

The chosen response shows every step as ``a op b = c`` and ends with ``Answer: N``. Each
rejected response is the same work with exactly one step miscalculated and every later step
computed correctly from the wrong value, so its final answer is wrong too. ``rejected[0]`` is
the subtlest slip (off by one). ``reference`` is the correct final answer, so the rows also
serve as (question, reference) pairs.
"""

from __future__ import annotations

import operator
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rmeval.tasks.core.rows import collect, make_row, pick_mode

SUBSET = "math"
OPS: dict[str, Callable[[int, int], int]] = {
    "+": operator.add,
    "-": operator.sub,
    "×": operator.mul,
}
STEP_RE = re.compile(r"(-?\d+) ([+×-]) (-?\d+) = (-?\d+)")
"""One worked step as it appears in a response (used by checks and tests)."""
NAMES = ["Maya", "Sam", "Lena", "Omar", "Priya", "Jonas", "Aiko", "Diego", "Zara", "Tom"]
ITEMS = ["notebooks", "pens", "apples", "stickers", "candles", "mugs", "plants", "tickets"]


@dataclass
class Work:
    """Records the steps of one solution; the result of step ``wrong_step`` is off by ``delta``."""

    wrong_step: int | None = None
    delta: int = 0
    steps: list[tuple[str, int, str, int, int]] = field(default_factory=list)

    def step(self, label: str, a: int, op: str, b: int) -> int:
        """Compute ``a op b`` (with the planned slip, if this is the wrong step) and record it."""
        value = OPS[op](a, b)
        if len(self.steps) == self.wrong_step:
            value += self.delta
        self.steps.append((label, a, op, b, value))
        return value


Solver = Callable[[Work], int]


def _expression(rng: random.Random) -> tuple[str, Solver]:
    a, b, c = rng.randint(12, 89), rng.randint(12, 89), rng.randint(3, 9)
    d = rng.randint(5, 60)
    prompt = f"Compute (({a} + {b}) × {c}) - {d}. Show your work."

    def solve(w: Work) -> int:
        s = w.step("Add inside the brackets", a, "+", b)
        s = w.step(f"Multiply by {c}", s, "×", c)
        return w.step(f"Subtract {d}", s, "-", d)

    return prompt, solve


def _shopping(rng: random.Random) -> tuple[str, Solver]:
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    n, price, bag = rng.randint(3, 9), rng.randint(2, 15), rng.randint(5, 30)
    paid = (n * price + bag) // 50 * 50 + 100
    prompt = (
        f"{name} buys {n} {item} at ${price} each and a bag for ${bag}, then pays with ${paid}. "
        f"How much change, in dollars, does {name} get back?"
    )

    def solve(w: Work) -> int:
        cost = w.step(f"Cost of the {item}", n, "×", price)
        total = w.step("Total spent", cost, "+", bag)
        return w.step("Change", paid, "-", total)

    return prompt, solve


def _savings(rng: random.Random) -> tuple[str, Solver]:
    name = rng.choice(NAMES)
    start, weekly, weeks = rng.randint(20, 150), rng.randint(5, 25), rng.randint(4, 12)
    spent = rng.randint(10, start)
    prompt = (
        f"{name} has ${start} saved, then saves ${weekly} every week for {weeks} weeks and "
        f"spends ${spent} on a gift. How many dollars does {name} have now?"
    )

    def solve(w: Work) -> int:
        saved = w.step("Money saved over the weeks", weekly, "×", weeks)
        total = w.step("Add the starting savings", start, "+", saved)
        return w.step("Subtract the gift", total, "-", spent)

    return prompt, solve


def _seating(rng: random.Random) -> tuple[str, Solver]:
    rows, seats = rng.randint(8, 30), rng.randint(10, 25)
    broken, people = rng.randint(2, 15), rng.randint(20, 120)
    prompt = (
        f"A hall has {rows} rows of {seats} seats. {broken} seats are broken and {people} people "
        f"are already seated. How many seats are still free?"
    )

    def solve(w: Work) -> int:
        total = w.step("Seats in the hall", rows, "×", seats)
        usable = w.step("Remove the broken seats", total, "-", broken)
        return w.step("Remove the occupied seats", usable, "-", people)

    return prompt, solve


def _bakery(rng: random.Random) -> tuple[str, Solver]:
    trays, per, eaten, price = (
        rng.randint(3, 9),
        rng.randint(6, 24),
        rng.randint(2, 9),
        rng.randint(2, 6),
    )
    prompt = (
        f"A baker bakes {trays} trays of {per} cookies, the staff eat {eaten} of them, and the "
        f"rest are sold for ${price} each. How many dollars do the cookies bring in?"
    )

    def solve(w: Work) -> int:
        baked = w.step("Cookies baked", trays, "×", per)
        left = w.step("Cookies left to sell", baked, "-", eaten)
        return w.step("Money from sales", left, "×", price)

    return prompt, solve


def _garden(rng: random.Random) -> tuple[str, Solver]:
    length, width, path, seeds = (
        rng.randint(6, 30),
        rng.randint(4, 20),
        rng.randint(3, 15),
        rng.randint(2, 9),
    )
    prompt = (
        f"A garden is {length} m long and {width} m wide. A path covers {path} square metres and "
        f"the rest is planted with {seeds} seeds per square metre. How many seeds are needed?"
    )

    def solve(w: Work) -> int:
        area = w.step("Area of the garden", length, "×", width)
        planted = w.step("Area left for planting", area, "-", path)
        return w.step("Seeds needed", planted, "×", seeds)

    return prompt, solve


def _ages(rng: random.Random) -> tuple[str, Solver]:
    name = rng.choice(NAMES)
    age, gap, years = rng.randint(5, 40), rng.randint(2, 12), rng.randint(3, 20)
    prompt = (
        f"{name} is {age} years old and {name}'s sister is {gap} years older. In {years} years, "
        f"what will the sum of their ages be?"
    )

    def solve(w: Work) -> int:
        sister = w.step("Sister's age now", age, "+", gap)
        sister_later = w.step(f"Sister's age in {years} years", sister, "+", years)
        own_later = w.step(f"{name}'s age in {years} years", age, "+", years)
        return w.step("Sum of the ages", sister_later, "+", own_later)

    return prompt, solve


PROBLEMS = [_expression, _shopping, _savings, _seating, _bakery, _garden, _ages]


def render(work: Work, final: int, style: str) -> str:
    """A worked solution in one of three styles: 'concise', 'standard' or 'verbose'."""
    exprs = [f"{a} {op} {b} = {v}" for _, a, op, b, v in work.steps]
    if style == "concise":
        return "; ".join(exprs) + f".\nAnswer: {final}"
    if style == "standard":
        lines = [f"Step {i + 1}. {s[0]}: {e}." for i, (s, e) in enumerate(zip(work.steps, exprs))]
        return "\n".join(lines) + f"\nAnswer: {final}"
    words = ["First", "Next", "Then", "After that"]
    lines = [
        f"{'Finally' if i == len(exprs) - 1 else words[i]}, {s[0][0].lower()}{s[0][1:]}: {e}."
        for i, (s, e) in enumerate(zip(work.steps, exprs))
    ]
    return (
        "Let's solve this carefully, one step at a time.\n"
        + "\n".join(lines)
        + f"\nI double-checked each step.\nAnswer: {final}"
    )


def _slips(rng: random.Random, n_steps: int) -> list[tuple[int, int]]:
    """Three (step, delta) slips: off by one, a small slip, a slip of ten or more."""
    sizes = [1, rng.randint(2, 9), rng.randint(10, 20)]
    return [(rng.randrange(n_steps), size * rng.choice((1, -1))) for size in sizes]


def _draw(rng: random.Random) -> tuple[str, dict[str, Any]] | None:
    prompt, solve = rng.choice(PROBLEMS)(rng)
    right = Work()
    answer = solve(right)
    wrong = []
    for step, delta in _slips(rng, len(right.steps)):
        work = Work(step, delta)
        final = solve(work)
        if final == answer or any(s[4] < 0 for s in work.steps):
            return None
        wrong.append((work, final))
    if len({f for _, f in wrong}) < 3 or answer < 0:
        return None
    mode = pick_mode(rng)
    good_style, bad_style = {"short": ("concise", "verbose"), "long": ("verbose", "concise")}.get(
        mode, ("standard", "standard")
    )
    chosen = render(right, answer, good_style)
    rejected = [render(w, f, bad_style) for w, f in wrong]
    return prompt, make_row(SUBSET, prompt, chosen, rejected, str(answer))


def generate(rng: random.Random, n: int, split: str) -> list[dict[str, Any]]:
    """``n`` math rows of ``split`` drawn from ``rng``."""
    return collect(rng, n, split, SUBSET, _draw)


def final_answer(response: str) -> str | None:
    """The number after the last ``Answer:`` in a response, or None."""
    found = re.findall(r"Answer: (-?\d+)", response)
    return found[-1] if found else None


def wrong_steps(response: str) -> int:
    """How many ``a op b = c`` steps in a response are miscalculated."""
    return sum(OPS[op](int(a), int(b)) != int(c) for a, op, b, c in STEP_RE.findall(response))
