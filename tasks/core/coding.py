"""Code domain: a short Python function vs versions of it with one injected bug.

Every candidate is executed against the family's test inputs at generation time, with the
expected outputs computed by an independent oracle: the chosen solution passes every test and
each rejected version fails at least one (``rejected[0]`` fails the fewest, so it is the
subtlest bug). ``check(prompt, response)`` re-runs the tests for any response.
"""

from __future__ import annotations

import copy
import functools
import random
import re
from typing import Any

from rmeval.tasks.core.code_bank import FAMILIES, Family
from rmeval.tasks.core.rows import collect, make_row, pick_mode

SUBSET = "code"
ASKS = [
    "Write a Python function `{name}({sig})` that {spec}",
    "Implement `{name}({sig})` in Python: it {spec}",
    "I need a Python function `{name}({sig})` that {spec} Please write it.",
]
CODE_RE = re.compile(r"```python\n(.*?)\n```", re.DOTALL)


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st, ..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _fields(params: dict[str, Any]) -> dict[str, Any]:
    """Format fields of a family's texts: the parameters and, where there is a ``k``, k-1, k+1,
    2k and the ordinals of k and 2k."""
    k = params.get("k")
    if not isinstance(k, int):
        return params
    return params | {
        "km1": k - 1,
        "k1": k + 1,
        "k2": 2 * k,
        "kth": ordinal(k),
        "k2th": ordinal(2 * k),
    }


def failures(family: Family, params: dict[str, Any], source: str) -> int:
    """How many of the family's tests ``source`` fails (an exception fails every test)."""
    namespace: dict[str, Any] = {}
    try:
        exec(compile(source, f"<core-code:{family.name}>", "exec"), namespace)  # noqa: S102 - our own generated code
        func = namespace[family.name]
    except Exception:
        return len(family.inputs(params))
    failed = 0
    for args in family.inputs(params):
        expected = family.oracle(params, *copy.deepcopy(args))
        try:
            failed += func(*copy.deepcopy(args)) != expected
        except Exception:
            failed += 1
    return failed


@functools.cache
def solutions(fi: int, pi: int) -> tuple[str, tuple[tuple[str, int], ...]]:
    """The verified correct source of family ``fi`` with parameters ``pi``, and its buggy
    versions that fail at least one test, as (source, tests failed), fewest failures first."""
    family = FAMILIES[fi]
    fields = _fields(family.params[pi])
    source = family.source.format(**fields)
    if failures(family, family.params[pi], source) != 0:
        raise ValueError(f"{family.name} {fields}: the reference solution fails its tests")
    buggy = []
    for old, new in family.bugs:
        old, new = old.format(**fields), new.format(**fields)
        if source.count(old) != 1:
            raise ValueError(f"{family.name}: bug edit {old!r} must match exactly once")
        bad = source.replace(old, new)
        n_failed = failures(family, family.params[pi], bad)
        if n_failed and bad not in (b for b, _ in buggy):
            buggy.append((bad, n_failed))
    return source, tuple(sorted(buggy, key=lambda b: b[1]))


def prompt_for(fi: int, pi: int, ask: int) -> str:
    """The request for family ``fi`` with parameters ``pi`` in phrasing ``ask``."""
    family = FAMILIES[fi]
    spec = family.spec.format(**_fields(family.params[pi]))
    return ASKS[ask].format(name=family.name, sig=family.signature, spec=spec)


@functools.lru_cache(maxsize=1)
def _prompt_index() -> dict[str, tuple[int, int]]:
    return {
        prompt_for(fi, pi, ask): (fi, pi)
        for fi, family in enumerate(FAMILIES)
        for pi in range(len(family.params))
        for ask in range(len(ASKS))
    }


def extract_code(response: str) -> str | None:
    """The first ```python block of a response, or None."""
    m = CODE_RE.search(response)
    return m.group(1) if m else None


def tests_failed(prompt: str, response: str) -> int:
    """How many tests of the task in ``prompt`` the code in ``response`` fails (all of them
    when the response holds no ```python block)."""
    fi, pi = _prompt_index()[prompt]
    family, params = FAMILIES[fi], FAMILIES[fi].params[pi]
    code = extract_code(response)
    return len(family.inputs(params)) if code is None else failures(family, params, code)


def check(prompt: str, response: str) -> bool:
    """Whether the code in ``response`` passes every test of the task in ``prompt``."""
    return tests_failed(prompt, response) == 0


def _respond(source: str, explain: str | None) -> str:
    block = f"```python\n{source}\n```"
    return f"{block}\n{explain}" if explain else block


def _draw(rng: random.Random) -> tuple[str, dict[str, Any]] | None:
    fi = rng.randrange(len(FAMILIES))
    family = FAMILIES[fi]
    pi = rng.randrange(len(family.params))
    prompt = prompt_for(fi, pi, rng.randrange(len(ASKS)))
    source, buggy = solutions(fi, pi)
    if len(buggy) < 3:
        return None
    picked = [buggy[0][0], *(b for b, _ in rng.sample(buggy[1:], 2))]
    explain = family.explain.format(**_fields(family.params[pi]))
    mode = pick_mode(rng)
    good, bad = {"short": (None, explain), "long": (explain, None)}.get(mode, (None, None))
    chosen = _respond(source, good)
    rejected = [_respond(b, bad) for b in picked]
    return prompt, make_row(SUBSET, prompt, chosen, rejected)


def generate(rng: random.Random, n: int, split: str) -> list[dict[str, Any]]:
    """``n`` code rows of ``split`` drawn from ``rng``."""
    return collect(rng, n, split, SUBSET, _draw)
