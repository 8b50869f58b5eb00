"""What a model receives, as ``rmeval show`` prints it: the exact strings and token ids of each
request, with the position the reward is read from (classifiers) or the tokens whose
log-probabilities are summed (log-likelihood rewards) marked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rmeval.harness.adapters.base import Encoded
from rmeval.harness.adapters.loglik_tokens import Split


def pieces(tokenizer: Any, ids: Sequence[int]) -> list[str]:
    """Each token id decoded on its own (special tokens kept), as Python string literals."""
    return [repr(tokenizer.decode([int(i)], skip_special_tokens=False)) for i in ids]


def token_lines(tokenizer: Any, ids: Sequence[int], mark: int | None, label: str) -> list[str]:
    """``ids`` and their tokens; ``mark`` (an index) is wrapped in ``>>> <<<``."""
    shown = pieces(tokenizer, ids)
    if mark is not None:
        shown[mark] = f">>>{shown[mark]}<<<"
    return [
        f"  {label} ids ({len(ids)}): {list(map(int, ids))}",
        f"  {label} tokens: {' '.join(shown)}",
    ]


def classifier_lines(
    tokenizer: Any, text: str | None, encoded: Encoded, decoder: bool, fmt: str
) -> list[str]:
    """A sequence classifier's input: its text (format ``fmt``), ids and the reward token (the
    last real token of a decoder, the first of an encoder's pooling)."""
    ids = list(encoded.payload["input_ids"])
    mark = len(ids) - 1 if decoder else 0
    where = "last token" if decoder else "first token (the encoder's pooling)"
    lines = [f"  format: {fmt}"]
    if text is not None:
        lines.append(f"  text: {text!r}")
    if "token_type_ids" in encoded.payload:
        lines.append(f"  token_type_ids: {list(encoded.payload['token_type_ids'])}")
    lines += token_lines(tokenizer, ids, mark, "input")
    cut = " (truncated: the text was cut to max_length)" if encoded.truncated else ""
    lines.append(f"  reward read at position {mark} ({where}){cut}")
    return lines


def classifier_view(model: Any, requests: Sequence[Any]) -> list[list[str]]:
    """:func:`classifier_lines` of each request for an ``hf`` model (its format, text, ids)."""
    fmt = model.text_format
    label = f"{fmt.name}{'' if fmt.chosen else ' (default)'}"
    return [
        classifier_lines(
            model.tokenizer,
            None if fmt.name == "pair" else model.text_of(r),
            e,
            model._is_decoder,
            label,
        )
        for r, e in zip(requests, model.encode(requests), strict=True)
    ]


def split_lines(tokenizer: Any, split: Split, label: str) -> list[str]:
    """A log-likelihood pair: context and continuation strings and ids; the continuation's
    tokens are the ones scored."""
    lines = [f"  {label} context: {split.context!r}"]
    lines += token_lines(tokenizer, split.context_ids, None, "context")
    lines.append(f"  {label} continuation: {split.continuation!r}")
    lines += token_lines(tokenizer, split.continuation_ids, None, "scored")
    cut = ", truncated (the context loses its start)" if split.truncated else ""
    lines.append(
        f"  Σ log p over the {len(split.continuation_ids)} scored tokens, each conditioned on "
        f"everything before it{cut}"
    )
    return lines


def loglik_lines(tokenizer: Any, encoded: Encoded, labels: Sequence[str]) -> list[str]:
    """The pairs of one encoded log-likelihood request (a split, or a tuple of them, each
    named by ``labels``; a DPO reference reads the policy's tokens, checked at encoding)."""
    payload = encoded.payload
    if payload is None:
        return ["  (no pair: the request is scored NaN, e.g. a missing reference)"]
    splits = payload if isinstance(payload, tuple) else (payload,)
    lines: list[str] = []
    for label, split in zip(labels, splits):
        lines += split_lines(tokenizer, split, label)
    return lines
