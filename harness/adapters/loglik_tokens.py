"""Which tokens a log-likelihood reward scores (the context/continuation token boundary), and
those tokens' per-token log-probabilities (for step rewards).

The rule (``dpo``, ``likelihood``, ``judge``): the context (prompt text, chat turn with its
generation prompt, the separator newline) and the context followed by the continuation are
tokenised with the same tokenizer call, and the continuation's tokens are those after the
longest common prefix of the two, as TRL's DPO tokenisation finds the completion. Separators
therefore belong to the context; a token that merges across the boundary belongs to the
continuation. Text the chat template rendered is tokenised without added special tokens (the
template writes its own); plain text with them, so a tokenizer that adds BOS adds it, as
``tokenizer(text)`` does in TRL's trainers; special ids it appends after the text (an EOS
from ``add_eos_token``) are dropped from both before the common prefix is taken, so they are
never counted as response tokens.

``lm_eval_compat=true`` keeps lm-eval's ``loglikelihood`` rule instead: trailing whitespace of
the context moves to the front of the continuation (the separator and a template's final
newline are then scored as response tokens), and no special tokens are added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Split:
    """A (context, continuation) pair and the tokens the log-likelihood scores."""

    context: str
    continuation: str
    context_ids: tuple[int, ...]
    continuation_ids: tuple[int, ...]
    max_length: int

    @property
    def n_tokens(self) -> int:
        """Tokens the model reads (before truncation)."""
        return len(self.context_ids) + len(self.continuation_ids)

    @property
    def truncated(self) -> bool:
        """lm-eval keeps the last ``max_length + 1`` tokens; longer pairs lose context."""
        return self.n_tokens > self.max_length + 1

    @property
    def scorable(self) -> bool:
        """A non-empty continuation that fits the window (lm-eval asserts both)."""
        return 0 < len(self.continuation_ids) <= self.max_length


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Number of leading tokens ``a`` and ``b`` share."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def exact_ids(
    tokenizer: Any, context: str, continuation: str, special: bool, prefix_id: int | None
) -> tuple[list[int], list[int]]:
    """Context and continuation ids by the module's rule; ``special`` adds the tokenizer's
    special tokens (plain text). An empty context part is ``[prefix_id]`` (lm-eval's rule:
    the first scored token needs something to condition on)."""
    ctx = tokenizer(context, add_special_tokens=special)["input_ids"]
    whole = tokenizer(context + continuation, add_special_tokens=special)["input_ids"]
    if special:  # an EOS the tokenizer appends is neither context nor response
        trail = trailing_special_ids(tokenizer)
        ctx, whole = _without_tail(ctx, trail), _without_tail(whole, trail)
    cut = common_prefix(ctx, whole)
    head, tail = list(whole[:cut]), list(whole[cut:])
    if not head and prefix_id is not None:
        head = [int(prefix_id)]
    return head, tail


def trailing_special_ids(tokenizer: Any) -> list[int]:
    """The special ids ``tokenizer(text)`` appends after the text (e.g. an EOS from
    ``add_eos_token`` or a ``$A </s>`` post-processor); empty for most causal tokenizers.

    ``tokenizer("")`` gives the leading and trailing ones together; the leading ones are those
    it shares with the start of a non-empty text's encoding."""
    empty = list(tokenizer("", add_special_tokens=True)["input_ids"])
    if not empty:
        return []
    probe = list(tokenizer("a", add_special_tokens=True)["input_ids"])
    lead = min(common_prefix(empty, probe), len(probe) - 1)
    return empty[lead:]


def _without_tail(ids: Sequence[int], tail: Sequence[int]) -> list[int]:
    ids = list(ids)
    if tail and ids[-len(tail) :] == list(tail):
        return ids[: -len(tail)]
    return ids


def lm_eval_ids(lm: Any, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """Context and continuation ids exactly as lm-eval's ``TemplateLM.loglikelihood``."""
    if context == "":
        cont = lm.tok_encode(continuation, add_special_tokens=False)
        if cont and cont[0] == lm.prefix_token_id:
            return cont[:1], cont[1:]
        return [lm.prefix_token_id], cont
    ctx, cont = lm._encode_pair(context, continuation)
    return list(ctx), list(cont)


def token_requests(splits: Sequence[Split]) -> list[tuple[tuple[str, str], list[int], list[int]]]:
    """``_loglikelihood_tokens`` requests of ``splits`` (the ids are scored as they are)."""
    return [
        ((s.context, s.continuation), list(s.context_ids), list(s.continuation_ids)) for s in splits
    ]


def is_causal_hflm(lm: Any) -> bool:
    """Whether ``lm`` is lm-eval's ``hf`` backend on a causal LM (one forward gives every token)."""
    from lm_eval.models.huggingface import HFLM

    return isinstance(lm, HFLM) and lm.backend == "causal"


def hf_token_logprobs(lm: Any, splits: Sequence[Split]) -> list[list[float]]:
    """Each continuation's per-token log-probabilities from one forward per pair (lm-eval's window
    and right padding)."""
    import torch

    size = lm.batch_size if isinstance(lm.batch_size, int) else len(splits)
    out: list[list[float]] = []
    for start in range(0, len(splits), max(size, 1)):
        chunk = splits[start : start + max(size, 1)]
        windows = [
            list(s.context_ids + s.continuation_ids)[-(s.max_length + 1) :][:-1] for s in chunk
        ]
        inp = torch.zeros(len(chunk), max(map(len, windows)), dtype=torch.long, device=lm.device)
        for row, window in enumerate(windows):
            inp[row, : len(window)] = torch.tensor(window, dtype=torch.long)
        logp = torch.log_softmax(lm._model_call(inp).float(), dim=-1)
        for row, (s, window) in enumerate(zip(chunk, windows, strict=True)):
            cont = torch.tensor(s.continuation_ids, dtype=torch.long, device=logp.device)
            rows = logp[row, len(window) - len(cont) : len(window)]
            out.append(rows.gather(1, cont[:, None]).squeeze(1).tolist())
    return out


def per_token_requests(lm: Any, splits: Sequence[Split]) -> list[list[float]]:
    """Each continuation's per-token log-probabilities through any lm-eval backend: one
    single-token request per continuation token."""
    requests = [
        (None, list(s.context_ids + s.continuation_ids[:k]), [s.continuation_ids[k]])
        for s in splits
        for k in range(len(s.continuation_ids))
    ]
    results = iter(lm._loglikelihood_tokens(requests, disable_tqdm=True) if requests else [])
    return [[float(next(results)[0]) for _ in s.continuation_ids] for s in splits]
