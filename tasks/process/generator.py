"""The ``process-core`` rows: worked solutions of the core math problems, step by step.

Each problem (the word problems of :mod:`rmeval.tasks.core.arithmetic`) gives two rows in
ProcessBench's schema: the correct solution (``label`` -1) and the same work with one step
miscalculated at a drawn index (``label`` = that index), every later step computed correctly
from the wrong value, so the final answer is wrong too. A step reads ``Step i. <what>:
a op b = c.`` and the last one ``Answer: N.``; every label is re-derived from the steps' own
arithmetic (:func:`first_wrong_step`) before a row is kept. Subsets are the problem kinds.
Train and test never share a problem (the core suite's split hash).
"""

from __future__ import annotations

import random
from typing import Any

from rmeval.tasks.core.arithmetic import OPS, PROBLEMS, STEP_RE, Work
from rmeval.tasks.core.rows import check_split, derived_rng, split_of

GENERATOR_VERSION = "1"
SIZES = {"test": 120, "train": 60}
"""Problems per split (two rows each)."""


def render(work: Work, final: int) -> list[str]:
    """The steps of a worked solution, ending with the answer step."""
    steps = [
        f"Step {i + 1}. {label}: {a} {op} {b} = {v}."
        for i, (label, a, op, b, v) in enumerate(work.steps)
    ]
    return [*steps, f"Answer: {final}."]


def first_wrong_step(steps: list[str], answer: int) -> int:
    """The index of the first step whose arithmetic (or final answer) is wrong, else -1."""
    for i, step in enumerate(steps):
        found = STEP_RE.search(step)
        if found:
            a, op, b, c = found.groups()
            if OPS[op](int(a), int(b)) != int(c):
                return i
        elif step != f"Answer: {answer}.":
            return i
    return -1


def _draw(rng: random.Random) -> tuple[str, str, list[dict[str, Any]]] | None:
    """One problem's two rows (correct, erroneous), or None when the draw is unusable."""
    kind = rng.randrange(len(PROBLEMS))
    prompt, solve = PROBLEMS[kind](rng)
    right = Work()
    answer = solve(right)
    k = rng.randrange(len(right.steps))
    slip = rng.choice([1, rng.randint(2, 9), rng.randint(10, 20)]) * rng.choice((1, -1))
    wrong = Work(k, slip)
    final = solve(wrong)
    if answer < 0 or final == answer or any(s[4] < 0 for s in wrong.steps):
        return None
    rows = []
    for work, result, label in ((right, answer, -1), (wrong, final, k)):
        steps = render(work, result)
        if first_wrong_step(steps, answer) != label:  # the label is what the steps show
            raise ValueError(f"process-core: label {label} disagrees with {steps}")
        rows.append({"problem": prompt, "steps": steps, "label": label})
        rows[-1]["final_answer_correct"] = label == -1
    name = PROBLEMS[kind].__name__.lstrip("_")
    return prompt, name, rows


def generate_rows(split: str, seed: int) -> list[dict[str, Any]]:
    """The rows of ``split`` for ``seed``: ``SIZES[split]`` problems, two rows each."""
    check_split(split)
    rng = derived_rng("process-core", split, seed)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _ in range(200 * SIZES[split]):
        if len(seen) == SIZES[split]:
            break
        got = _draw(rng)
        if got is None or got[0] in seen or split_of(f"process:{got[0]}") != split:
            continue
        prompt, name, rows = got
        seen.add(prompt)
        for row, tag in zip(rows, ("correct", "error")):
            row |= {"id": f"{split}-{len(seen) - 1:04d}-{tag}", "subset": name}
            out.append(row)
    if len(seen) < SIZES[split]:
        raise ValueError(f"process-core: only {len(seen)} {split} problems")
    return out
