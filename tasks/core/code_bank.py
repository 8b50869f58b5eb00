"""Function families for the code domain: a correct solution, bug edits and an oracle.

Each family is a parametrised task (``{k}`` etc. in its texts). ``source`` is the correct
solution, ``bugs`` are (old, new) text edits that each inject one bug, ``oracle`` computes the
expected output independently of ``source``, and ``inputs`` lists the test arguments. The
generator keeps only bugs that fail at least one test for the given parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Family:
    """One parametrised programming task."""

    name: str
    spec: str
    """What the function must do (completes "Write a Python function `name(args)` that ...")."""
    signature: str
    source: str
    bugs: tuple[tuple[str, str], ...]
    oracle: Callable[..., Any]
    """``oracle(params, *args)`` is the expected return value."""
    inputs: Callable[[dict[str, Any]], list[tuple[Any, ...]]]
    params: tuple[dict[str, Any], ...]
    explain: str
    """One sentence describing the solution (also attached, misleadingly, to buggy versions)."""


def _shift(text: str, k: int) -> str:
    return "".join(chr((ord(c) - 97 + k) % 26 + 97) if "a" <= c <= "z" else c for c in text)


def _is_power(n: int, k: int) -> bool:
    p = 1
    while p < n:
        p *= k
    return n >= 1 and p == n


def _coprime(a: int, b: int) -> bool:
    while b:
        a, b = b, a % b
    return a == 1


def _label(n: int, a: int, b: int) -> str:
    return (
        "FizzBuzz"
        if n % (a * b) == 0
        else "Fizz"
        if n % a == 0
        else "Buzz"
        if n % b == 0
        else str(n)
    )


FAMILIES: list[Family] = [
    Family(
        "sum_multiples",
        "returns the sum of all positive multiples of {k} that are less than n.",
        "n",
        "def sum_multiples(n):\n    total = 0\n    for i in range(1, n):\n        if i % {k} == 0:\n            total += i\n    return total",
        (
            ("range(1, n)", "range(1, n + 1)"),
            ("i % {k} == 0", "i % {k} != 0"),
            ("total += i", "total += 1"),
            ("range(1, n)", "range(1, n - 1)"),
        ),
        lambda p, n: sum(i for i in range(1, n) if i % p["k"] == 0),
        lambda p: [(0,), (1,), (p["k"],), (p["k"] * 3,), (p["k"] * 3 + 1,), (50,)],
        tuple({"k": k} for k in range(2, 13)),
        "It loops over the numbers below n and adds up the ones divisible by {k}.",
    ),
    Family(
        "count_long_words",
        "returns how many words in text (split on whitespace) have more than {k} characters.",
        "text",
        "def count_long_words(text):\n    count = 0\n    for word in text.split():\n        if len(word) > {k}:\n            count += 1\n    return count",
        (
            ("len(word) > {k}", "len(word) >= {k}"),
            ("len(word) > {k}", "len(word) < {k}"),
            ("count += 1", "count += len(word)"),
            ("count = 0", "count = 1"),
        ),
        lambda p, text: sum(len(w) > p["k"] for w in text.split()),
        lambda p: [
            ("",),
            ("a" * p["k"],),
            ("b" * (p["k"] + 1),),
            (f"{'x' * p['k']} {'y' * (p['k'] + 2)}  z",),
            ("one two three seventeen",),
        ],
        tuple({"k": k} for k in range(2, 9)),
        "It splits the text into words and counts those longer than {k} characters.",
    ),
    Family(
        "above",
        "returns a new list of the numbers in values that are greater than {k}, in their original order.",
        "values",
        "def above(values):\n    result = []\n    for v in values:\n        if v > {k}:\n            result.append(v)\n    return result",
        (
            ("v > {k}", "v >= {k}"),
            ("result.append(v)", "result.insert(0, v)"),
            ("v > {k}", "v < {k}"),
            ("return result", "return result[1:]"),
        ),
        lambda p, values: [v for v in values if v > p["k"]],
        lambda p: [
            ([],),
            ([p["k"]],),
            ([p["k"] + 1, p["k"] + 5, p["k"] - 3],),
            ([p["k"] - 1, p["k"], p["k"] + 2, p["k"] + 1],),
        ],
        tuple({"k": k} for k in range(-10, 41)),
        "It keeps, in order, every value greater than {k}.",
    ),
    Family(
        "shift",
        "returns text with every lowercase letter a-z moved {k} places forward in the alphabet, wrapping from z back to a; other characters stay the same.",
        "text",
        'def shift(text):\n    out = []\n    for ch in text:\n        if "a" <= ch <= "z":\n            out.append(chr((ord(ch) - ord("a") + {k}) % 26 + ord("a")))\n        else:\n            out.append(ch)\n    return "".join(out)',
        (
            ("% 26", "% 25"),
            ("+ {k}) % 26", "- {k}) % 26"),
            ('"a" <= ch <= "z"', '"a" <= ch < "z"'),
            ("out.append(ch)\n", "out.append(ch.lower())\n"),
        ),
        lambda p, text: _shift(text, p["k"]),
        lambda p: [("",), ("abc",), ("xyz",), ("Hello, World!",), ("zebra 42",)],
        tuple({"k": k} for k in range(1, 26)),
        "It shifts each lowercase letter by {k} with wrap-around and leaves everything else alone.",
    ),
    Family(
        "rotate",
        "returns a new list equal to items rotated left by {k} positions, wrapping around for short lists (an empty list gives an empty list).",
        "items",
        "def rotate(items):\n    if not items:\n        return []\n    s = {k} % len(items)\n    return items[s:] + items[:s]",
        (
            ("items[s:] + items[:s]", "items[:s] + items[s:]"),
            ("{k} % len(items)", "{k}"),
            ("items[s:] + items[:s]", "items[-s:] + items[:-s]"),
            ("    if not items:\n        return []\n", ""),
        ),
        lambda p, items: (
            items[p["k"] % len(items) :] + items[: p["k"] % len(items)] if items else []
        ),
        lambda p: [([],), ([1],), ([1, 2, 3],), (list(range(10)),), (list(range(p["k"] + 3)),)],
        tuple({"k": k} for k in range(1, 10)),
        "It rotates the list left by {k} places, using the remainder for short lists.",
    ),
    Family(
        "chunks",
        "splits items into consecutive lists of {k} elements (the last may be shorter) and returns the list of those lists.",
        "items",
        "def chunks(items):\n    return [items[i:i + {k}] for i in range(0, len(items), {k})]",
        (
            ("range(0, len(items), {k})", "range(0, len(items) - 1, {k})"),
            ("items[i:i + {k}]", "items[i:i + {km1}]"),
            ("range(0, len(items), {k})", "range(1, len(items), {k})"),
            ("items[i:i + {k}]", "items[i + 1:i + {k}]"),
        ),
        lambda p, items: [items[i : i + p["k"]] for i in range(0, len(items), p["k"])],
        lambda p: [
            ([],),
            (list(range(p["k"])),),
            (list(range(2 * p["k"] + 1)),),
            (list(range(3 * p["k"] - 1)),),
        ],
        tuple({"k": k} for k in range(2, 9)),
        "It slices the list every {k} elements.",
    ),
    Family(
        "count_char",
        "returns how many times the letter '{c}' appears in text, ignoring case.",
        "text",
        'def count_char(text):\n    count = 0\n    for ch in text.lower():\n        if ch == "{c}":\n            count += 1\n    return count',
        (
            ("text.lower()", "text"),
            ("count += 1", "count = 1"),
            ('ch == "{c}"', 'ch != "{c}"'),
            ("text.lower():", "text.lower()[1:]:"),
        ),
        lambda p, text: text.lower().count(p["c"]),
        lambda p: [
            ("",),
            (p["c"] * 3,),
            (p["c"].upper() + "x" + p["c"],),
            ("the quick brown fox jumps over the lazy dog",),
        ],
        tuple({"c": c} for c in "abcdefghijklmnopqrstuvwxyz"),
        "It lowercases the text and counts the letter '{c}'.",
    ),
    Family(
        "multiples",
        "returns a list of the first n positive multiples of {k}, in increasing order.",
        "n",
        "def multiples(n):\n    return [{k} * i for i in range(1, n + 1)]",
        (
            ("range(1, n + 1)", "range(n)"),
            ("range(1, n + 1)", "range(1, n)"),
            ("{k} * i", "{k} + i"),
            ("{k} * i", "{k} ** i"),
        ),
        lambda p, n: [p["k"] * i for i in range(1, n + 1)],
        lambda p: [(0,), (1,), (3,), (6,)],
        tuple({"k": k} for k in range(2, 21)),
        "It multiplies {k} by 1, 2, ..., n.",
    ),
    Family(
        "count_divisible",
        "returns how many integers from lo to hi, inclusive, are divisible by {k}.",
        "lo, hi",
        "def count_divisible(lo, hi):\n    count = 0\n    for n in range(lo, hi + 1):\n        if n % {k} == 0:\n            count += 1\n    return count",
        (
            ("hi + 1", "hi"),
            ("range(lo, ", "range(lo + 1, "),
            ("n % {k} == 0", "n % {k} == 1"),
            ("count += 1", "count += n"),
        ),
        lambda p, lo, hi: sum(n % p["k"] == 0 for n in range(lo, hi + 1)),
        lambda p: [(1, 1), (0, p["k"]), (p["k"], 4 * p["k"]), (3, 50), (10, 5)],
        tuple({"k": k} for k in range(2, 13)),
        "It checks every integer from lo to hi against {k}.",
    ),
    Family(
        "is_power",
        "returns True if n is a whole-number power of {k} (including 1, which is {k} to the power 0), else False.",
        "n",
        "def is_power(n):\n    if n < 1:\n        return False\n    while n % {k} == 0:\n        n //= {k}\n    return n == 1",
        (
            ("return n == 1", "return n == {k}"),
            ("n < 1", "n <= 1"),
            ("while n % {k} == 0", "if n % {k} == 0"),
            ("return False", "return True"),
        ),
        lambda p, n: _is_power(n, p["k"]),
        lambda p: [(0,), (1,), (p["k"],), (p["k"] ** 3,), (p["k"] ** 2 + 1,), (2 * p["k"] ** 2,)],
        tuple({"k": k} for k in range(2, 10)),
        "It divides n by {k} while it can and checks that 1 is left.",
    ),
    Family(
        "label",
        "returns 'FizzBuzz' if n is divisible by both {a} and {b}, 'Fizz' if only by {a}, 'Buzz' if only by {b}, and otherwise str(n).",
        "n",
        'def label(n):\n    if n % {a} == 0 and n % {b} == 0:\n        return "FizzBuzz"\n    if n % {a} == 0:\n        return "Fizz"\n    if n % {b} == 0:\n        return "Buzz"\n    return str(n)',
        (
            (" and n % {b}", " or n % {b}"),
            ('return "Fizz"\n', 'return "Buzz"\n'),
            ("return str(n)", "return n"),
            ("return str(n)", 'return ""'),
        ),
        lambda p, n: _label(n, p["a"], p["b"]),
        lambda p: [(1,), (p["a"],), (p["b"],), (p["a"] * p["b"],), (p["a"] * p["b"] + 1,)],
        tuple(
            {"a": a, "b": b} for a in range(2, 8) for b in range(2, 12) if a != b and _coprime(a, b)
        ),
        "It tests divisibility by both numbers first, then by {a}, then by {b}.",
    ),
    Family(
        "drop_every",
        "returns a new list without every {kth} element of items (the {kth}, {k2th}, and so on, counting from 1).",
        "items",
        "def drop_every(items):\n    return [x for i, x in enumerate(items, start=1) if i % {k} != 0]",
        (
            ("start=1", "start=0"),
            ("i % {k} != 0", "i % {k} == 0"),
            ("enumerate(items, ", "enumerate(items[1:], "),
            ("i % {k} != 0", "i % {k1} != 0"),
        ),
        lambda p, items: [x for i, x in enumerate(items, start=1) if i % p["k"]],
        lambda p: [
            ([],),
            (list(range(p["k"] - 1)),),
            (list(range(3 * p["k"])),),
            (list("abcdefghijklmnop"),),
        ],
        tuple({"k": k} for k in range(2, 8)),
        "It enumerates from 1 and skips positions divisible by {k}.",
    ),
    Family(
        "stretch",
        "returns text with each character repeated {k} times.",
        "text",
        'def stretch(text):\n    return "".join(ch * {k} for ch in text)',
        (
            ("ch * {k}", "ch * {km1}"),
            ("ch * {k}", "ch + ch"),
            ("for ch in text)", "for ch in text[:-1])"),
            ('"".join', '" ".join'),
        ),
        lambda p, text: "".join(c * p["k"] for c in text),
        lambda p: [("",), ("a",), ("ab",), ("hey you",)],
        tuple({"k": k} for k in range(2, 7)),
        "It joins {k} copies of every character.",
    ),
    Family(
        "clamp_all",
        "returns a new list where every number below {lo} becomes {lo} and every number above {hi} becomes {hi}.",
        "values",
        "def clamp_all(values):\n    return [min(max(v, {lo}), {hi}) for v in values]",
        (
            ("min(max(v, {lo}), {hi})", "max(min(v, {lo}), {hi})"),
            ("max(v, {lo})", "max(v, {hi})"),
            ("min(max(v, {lo}), {hi})", "min(v, {hi})"),
            ("min(max(v, {lo}), {hi})", "max(v, {lo})"),
        ),
        lambda p, values: [min(max(v, p["lo"]), p["hi"]) for v in values],
        lambda p: [
            ([],),
            ([p["lo"] - 5, p["hi"] + 5],),
            ([p["lo"], p["hi"], (p["lo"] + p["hi"]) // 2],),
        ],
        tuple({"lo": lo, "hi": hi} for lo in range(-5, 6) for hi in range(lo + 3, lo + 15, 3)),
        "It raises small values to {lo} and caps large ones at {hi}.",
    ),
    Family(
        "window_sums",
        "returns the list of sums of every run of {k} consecutive numbers in values (empty if values has fewer than {k} numbers).",
        "values",
        "def window_sums(values):\n    return [sum(values[i:i + {k}]) for i in range(len(values) - {k} + 1)]",
        (
            ("- {k} + 1", "- {k}"),
            ("values[i:i + {k}]", "values[i:i + {km1}]"),
            ("range(len(values) - {k} + 1)", "range(len(values))"),
            ("sum(values[i:i + {k}])", "max(values[i:i + {k}])"),
        ),
        lambda p, values: [sum(values[i : i + p["k"]]) for i in range(len(values) - p["k"] + 1)],
        lambda p: [([],), (list(range(1, p["k"] + 1)),), ([3, 1, 4, 1, 5, 9, 2, 6],)],
        tuple({"k": k} for k in range(2, 6)),
        "It sums each window of {k} values with a slice.",
    ),
]
