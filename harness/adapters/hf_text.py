"""Text formatting for ``hf``: how a request becomes the token ids a reward model reads.

Formats (``--model-args format=...``; see docs/text-formats.md):

- ``chat``: the tokenizer's chat template (or ``chat_template=``), user turn = prompt, assistant
  turn = response, rendered text tokenised without added special tokens (the template writes
  its own), as TRL's RewardTrainer tokenises conversational data;
- ``pair``: an encoder text pair (``[CLS] prompt [SEP] response [SEP]``);
- ``concat``: ``prompt + response + EOS`` tokenised with the tokenizer's special tokens (BOS where
  it adds one), exactly as TRL's RewardTrainer formats plain (non-conversational) data;
- ``plain``: ``"User: {prompt}\\n\\nAssistant: {response}"`` (rmeval's earlier default);
- ``FILE.jinja``: a Jinja template of the user's own, rendered like a chat template (``messages``,
  ``bos_token``, ``eos_token``) with ``prompt`` and ``response`` also given, tokenised without
  added special tokens.

The default is decided from the checkpoint: a chat template means ``chat``, a tokenizer with a
separator token on an encoder means ``pair``, anything else ``concat`` (with a notice). Multi-turn
prompts pass every turn to a template, or read as ``Role: content`` blocks in ``concat`` and
``plain``. A text longer than the max length loses tokens on its ``truncation_side``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rmeval.harness.adapters.base import Arg, Encoded
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import ScoreRequest, sha256_text

PLAIN_FORMAT = "User: {prompt}\n\nAssistant: {response}"
CONCAT_FORMAT = "{prompt}{response}{eos_token}"
"""``concat`` as the fingerprint records it (TRL's plain-data reward format)."""
NAMED = ("chat", "pair", "concat", "plain")

log = logging.getLogger("rmeval")


def parse_format(value: Any, flag: str) -> str:
    """``format=``: a named format, or a Jinja template file (its path as given)."""
    text = str(value)
    if text.lower() in NAMED:
        return text.lower()
    if Path(text).expanduser().is_file():
        return text
    raise RmevalError(
        f"{flag}={text}: use chat, pair, concat, plain or the path of a .jinja template file."
    )


FORMAT_ARG = Arg(
    "text format: chat, pair, concat, plain or FILE.jinja (default: from the checkpoint)",
    by_content=True,
    parse=parse_format,
)
"""``hf``'s ``format=`` argument (its content, not its path, is fingerprinted)."""


@dataclass(frozen=True)
class TextFormat:
    """The text format an ``hf`` model reads, and the template text behind it."""

    name: str
    """``chat``, ``pair``, ``concat``, ``plain`` or ``template`` (a ``format=FILE``)."""
    template: str | None = None
    """The Jinja text rendered (``chat``: the tokenizer's template; ``template``: the file's)."""
    chosen: bool = True
    """False when the format was the default decided from the checkpoint."""

    @property
    def identity(self) -> str:
        """The format as the fingerprint and result file record it."""
        return {"plain": PLAIN_FORMAT, "concat": CONCAT_FORMAT}.get(self.name, self.name)

    @property
    def template_sha256(self) -> str | None:
        """sha256 of :attr:`template` (None for formats without one)."""
        return None if self.template is None else sha256_text(self.template)


def choose_format(requested: str | None, tokenizer: Any, decoder: bool, name: str) -> TextFormat:
    """``format=`` checked against the tokenizer, or the default decided from the checkpoint
    (a notice names an automatic ``concat``); ``name`` is the model in the sentences."""
    template = getattr(tokenizer, "chat_template", None)
    template = template if isinstance(template, str) else None
    if requested is None:
        if template:
            return TextFormat("chat", template, chosen=False)
        if tokenizer.sep_token is not None and not decoder:
            return TextFormat("pair", chosen=False)
        if not tokenizer.eos_token:  # nothing to end the text with: the wrap without EOS
            return _notice(TextFormat("plain", chosen=False), name, "User:/Assistant: wrap")
        return _notice(TextFormat("concat", chosen=False), name, "prompt + response + EOS")
    if requested in NAMED:
        fmt = TextFormat(requested, template if requested == "chat" else None)
    else:
        fmt = TextFormat("template", Path(requested).expanduser().read_text(encoding="utf-8"))
    return _checked(fmt, tokenizer, name)


def _notice(fmt: TextFormat, name: str, what: str) -> TextFormat:
    """``fmt``, after the one-line notice that names a default text format."""
    log.info(
        "rmeval: %s has no chat template and takes no text pair: scoring %s (format=%s; TRL's "
        "RewardTrainer trains on prompt + response + EOS for plain data); pass --model-args "
        "format=chat|pair|concat|plain|FILE.jinja to choose.",
        name,
        what,
        fmt.name,
    )
    return fmt


def _checked(fmt: TextFormat, tokenizer: Any, name: str) -> TextFormat:
    """``fmt``, refused where the tokenizer lacks what it needs."""
    missing = {
        "chat": fmt.name == "chat" and not fmt.template,
        "pair": fmt.name == "pair" and tokenizer.sep_token is None,
        "concat": fmt.name == "concat" and not tokenizer.eos_token,
    }
    needs = {"chat": "chat template", "pair": "separator token", "concat": "EOS token"}
    for key, bad in missing.items():
        if bad:
            raise RmevalError(
                f"--model-args format={key}: the tokenizer of {name} has no {needs[key]}; "
                f"choose another format (chat, pair, concat, plain or FILE.jinja)."
            )
    return fmt


def max_length(requested: int | None, config: Any, tokenizer: Any) -> int:
    """``requested``, else the smaller of the tokenizer's and the positions' limit."""
    if requested:
        return int(requested)
    limits = [getattr(config, "max_position_embeddings", None), tokenizer.model_max_length]
    usable = [int(x) for x in limits if isinstance(x, int) and 0 < x < 1_000_000]
    return min(usable) if usable else 4096


def text_of(tokenizer: Any, fmt: TextFormat, request: ScoreRequest) -> str:
    """The formatted text of a request (every format but ``pair``)."""
    if fmt.name == "chat":
        return tokenizer.apply_chat_template(request.messages(), tokenize=False)
    if fmt.name == "template":
        return tokenizer.apply_chat_template(
            request.messages(),
            chat_template=fmt.template,
            tokenize=False,
            prompt=request.prompt_text,
            response=request.response,
        )
    if fmt.name == "concat":
        text = request.prompt_text + request.response
        eos = tokenizer.eos_token
        return text if text.endswith(eos) else text + eos  # TRL adds EOS unless present
    if request.context:  # earlier turns in the same "Role: content" style
        return f"{request.prompt_text}\n\nAssistant: {request.response}"
    return PLAIN_FORMAT.format(prompt=request.prompt, response=request.response)


def token_ids(
    tokenizer: Any, fmt: TextFormat, requests: Sequence[ScoreRequest]
) -> list[dict[str, list[int]]]:
    """Token ids per request; one batched tokenizer call (a fast tokenizer runs it in
    parallel, and gives the same ids as one call per text). Templates write their own special
    tokens; ``concat`` and ``plain`` get the tokenizer's (TRL's ``tokenizer(text)``)."""
    if not requests:
        return []
    if fmt.name == "pair":
        enc = tokenizer([r.prompt_text for r in requests], [r.response for r in requests])
        names = [k for k in ("input_ids", "token_type_ids") if k in enc]
        return [{k: enc[k][i] for k in names} for i in range(len(requests))]
    texts = [text_of(tokenizer, fmt, r) for r in requests]
    special = fmt.name in ("concat", "plain")
    ids = tokenizer(texts, add_special_tokens=special)["input_ids"]
    return [{"input_ids": x} for x in ids]


def truncate(ids: dict[str, list[int]], max_length: int, side: str) -> Encoded:
    """One request's ids cut to ``max_length`` on ``side`` (``left`` keeps the end)."""
    n = len(ids["input_ids"])
    truncated = n > max_length
    if truncated:
        cut = slice(n - max_length, n) if side == "left" else slice(0, max_length)
        ids = {k: v[cut] for k, v in ids.items()}
    return Encoded(len(ids["input_ids"]), ids, truncated)
