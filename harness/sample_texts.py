"""``rmeval run --log-texts``: the example's texts added to its samples line.

Off by default (samples files then hold scores and text hashes only): texts make the files
large and may be private. With it, each line gains ``prompt`` (earlier turns of a conversation
first, one ``role: content`` per line) and ``texts`` (the candidates in data order, the order of
``scores``), which the leaderboard's hardest-examples panel shows, escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rmeval.harness.records import Example, ExampleResult


def prompt_with_context(example: Example) -> str:
    """The prompt, after the conversation's earlier turns (``role: content`` lines)."""
    turns = [f"{role}: {content}" for role, content in example.context]
    return "\n".join([*turns, example.prompt]) if turns else example.prompt


def with_texts(
    examples: Sequence[Example], samples: Sequence[ExampleResult]
) -> list[ExampleResult]:
    """``samples`` with ``prompt`` and ``texts`` in each line's extra fields (matched by id)."""
    by_id = {e.id: e for e in examples}
    out = []
    for sample in samples:
        example = by_id.get(sample.id)
        if example is None:
            out.append(sample)
            continue
        texts = {"prompt": prompt_with_context(example), "texts": list(example.candidates)}
        out.append(replace(sample, extra={**sample.extra, **texts}))
    return out
