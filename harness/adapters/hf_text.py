"""Text formatting for ``hf``: how a request becomes the token ids a reward model reads.

Text format: the tokenizer's chat template (user turn = prompt, assistant turn = response) when
it has one; otherwise a text pair for encoders whose tokenizer has a separator token
(cross-encoders); otherwise the plain format ``"User: {prompt}\\n\\nAssistant: {response}"``.
Multi-turn prompts pass every turn to the chat template (or to the plain format, one
``Role: content`` block per turn). A text longer than the max length loses tokens on its
``truncation_side``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rmeval.harness.adapters.base import Encoded
from rmeval.harness.records import ScoreRequest

PLAIN_FORMAT = "User: {prompt}\n\nAssistant: {response}"


def text_format(tokenizer: Any, decoder: bool) -> str:
    """``chat_template``, ``pair`` or ``plain`` (see the module docstring)."""
    if getattr(tokenizer, "chat_template", None):
        return "chat_template"
    if tokenizer.sep_token is not None and not decoder:
        return "pair"
    return "plain"


def format_identity(fmt: str) -> str:
    """The text format as the fingerprint records it (the plain format by its template)."""
    return fmt if fmt != "plain" else PLAIN_FORMAT


def max_length(requested: int | None, config: Any, tokenizer: Any) -> int:
    """``requested``, else the smaller of the tokenizer's and the positions' limit."""
    if requested:
        return int(requested)
    limits = [getattr(config, "max_position_embeddings", None), tokenizer.model_max_length]
    usable = [int(x) for x in limits if isinstance(x, int) and 0 < x < 1_000_000]
    return min(usable) if usable else 4096


def text_of(tokenizer: Any, fmt: str, request: ScoreRequest) -> str:
    """The templated text of a request (chat template or plain format; not ``pair``)."""
    if fmt == "chat_template":
        return tokenizer.apply_chat_template(request.messages(), tokenize=False)
    if request.context:  # earlier turns in the same "Role: content" style
        return f"{request.prompt_text}\n\nAssistant: {request.response}"
    return PLAIN_FORMAT.format(prompt=request.prompt, response=request.response)


def token_ids(
    tokenizer: Any, fmt: str, requests: Sequence[ScoreRequest]
) -> list[dict[str, list[int]]]:
    """Token ids per request; one batched tokenizer call (a fast tokenizer runs it in
    parallel, and gives the same ids as one call per text)."""
    if not requests:
        return []
    if fmt == "pair":
        enc = tokenizer([r.prompt_text for r in requests], [r.response for r in requests])
        names = [k for k in ("input_ids", "token_type_ids") if k in enc]
        return [{k: enc[k][i] for k in names} for i in range(len(requests))]
    texts = [text_of(tokenizer, fmt, r) for r in requests]
    ids = tokenizer(texts, add_special_tokens=fmt != "chat_template")["input_ids"]
    return [{"input_ids": x} for x in ids]


def truncate(ids: dict[str, list[int]], max_length: int, side: str) -> Encoded:
    """One request's ids cut to ``max_length`` on ``side`` (``left`` keeps the end)."""
    n = len(ids["input_ids"])
    truncated = n > max_length
    if truncated:
        cut = slice(n - max_length, n) if side == "left" else slice(0, max_length)
        ids = {k: v[cut] for k, v in ids.items()}
    return Encoded(len(ids["input_ids"]), ids, truncated)
