"""Padding-free packing for decoder reward models, with optional prompt sharing.

A batch's texts are laid end to end in one row: no padding tokens are computed. Position ids
restart at each text and attention stays inside it (one causal SDPA call per text, on CPU one
per run of equal-length neighbouring texts; on CUDA in half precision, one flash-attention
varlen call for all texts), through an
attention function registered with transformers' attention interface as ``rmeval_packed``;
calls without packed spans (padded batches, probes) go to transformers' own SDPA function.

With ``share_prompts=true`` the longest common token prefix of the responses to one prompt is
laid out once, followed by each response: the prefix attends causally to itself, each response
to the whole prefix and causally to itself, with position ids continuing after the prefix. So a
prompt is computed once per batch however many responses it has.

Scores equal the padded forward up to float rounding. Models with sliding-window attention,
attention sinks or soft-capping, or without transformers' attention interface, are not packed.
"""

from __future__ import annotations

import functools
import inspect
from collections import defaultdict
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

from rmeval.harness.adapters.base import Encoded
from rmeval.harness.batching import plan_packed
from rmeval.harness.errors import RmevalError

ATTENTION = "rmeval_packed"
MIN_SHARED = 8
"""Shorter shared prefixes are not worth a separate span."""
_UNSUPPORTED_KWARGS = ("sliding_window", "s_aux", "softcap")


# -- which models ---------------------------------------------------------------------------
def unsupported_reason(model: Any) -> str | None:
    """Why ``model`` cannot be packed, or None when it can."""
    cfg = model.config
    if not getattr(model, "_supports_attention_backend", False):
        return f"{type(model).__name__} does not use transformers' attention interface"
    if cfg._attn_implementation not in ("sdpa", ATTENTION):
        return f"attn_implementation={cfg._attn_implementation} (packing runs on sdpa)"
    types = getattr(cfg, "layer_types", None)
    if types and any(t != "full_attention" for t in types):
        return "it has sliding-window or other non-full attention layers"
    if (
        not types
        and getattr(cfg, "sliding_window", None)
        and getattr(cfg, "use_sliding_window", True)
    ):
        return "it uses sliding-window attention"
    if getattr(cfg, "attn_logit_softcapping", None):
        return "it soft-caps attention logits"
    if not isinstance(getattr(model, "score", None), _torch().nn.Module):
        return f"{type(model).__name__} has no `score` head read at the last token"
    return None


def enable(model: Any) -> None:
    """Route ``model``'s attention through :func:`packed_attention` (idempotent)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

    AttentionInterface.register(ATTENTION, packed_attention)
    ALL_MASK_ATTENTION_FUNCTIONS.register(ATTENTION, sdpa_mask)
    if model.config._attn_implementation != ATTENTION:
        model.set_attn_implementation(ATTENTION)


def _torch() -> Any:
    import torch

    return torch


# -- shared prompts -------------------------------------------------------------------------
def mark_shared_prefixes(prompts: Sequence[str], encoded: Sequence[Encoded]) -> None:
    """Set ``payload["prefix_len"]``: the common token prefix of the requests that share a
    prompt, leaving each at least one token of its own (0 = no sharing: a lone request, a
    truncated member, or fewer than ``MIN_SHARED`` shared tokens)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, prompt in enumerate(prompts):
        groups[prompt].append(i)
    for members in groups.values():
        ids = [encoded[i].payload["input_ids"] for i in members]
        shared = 0
        if len(members) > 1 and not any(encoded[i].truncated for i in members):
            limit = min(len(x) for x in ids) - 1
            while shared < limit and all(x[shared] == ids[0][shared] for x in ids):
                shared += 1
        for i in members:
            encoded[i].payload["prefix_len"] = shared if shared >= MIN_SHARED else 0


def _prefix(e: Encoded) -> tuple[int, ...]:
    return tuple(e.payload["input_ids"][: e.payload.get("prefix_len", 0)])


def plan(encoded: Sequence[Encoded], budget: int, keys: Sequence[str]) -> list[list[int]]:
    """Packed batches of at most ``budget`` computed tokens (one text or group may exceed it
    alone). Prompt groups stay whole (their cost is prefix + responses).
    A pure function of the encodings, so resumed runs plan identically."""
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    plain: list[int] = []
    for i, e in enumerate(encoded):
        (groups[_prefix(e)] if e.payload.get("prefix_len") else plain).append(i)
    units = list(groups.items())
    costs = [len(p) + sum(encoded[i].n_tokens - len(p) for i in members) for p, members in units]
    unit_keys = [keys[members[0]] for _, members in units]
    batches = [
        [i for u in batch for i in units[u][1]] for batch in plan_packed(costs, budget, unit_keys)
    ]
    plain_lengths = [encoded[i].n_tokens for i in plain]
    tiebreak = [keys[i] for i in plain]
    return batches + [[plain[j] for j in b] for b in plan_packed(plain_lengths, budget, tiebreak)]


# -- packed batches -------------------------------------------------------------------------
class Spans(list):
    """A packed row's attention spans ``(start, end, prefix span or None, mask or None)``;
    ``calls`` counts the attention layers that applied them. Without shared prefixes,
    ``cu_seqlens`` (span boundaries, int32) and ``max_len`` let one flash-attention varlen call
    run every span on CUDA."""

    calls = 0
    cu_seqlens: Any = None
    max_len = 0
    runs: list[tuple[int, int]] | None = None
    """:func:`equal_runs` of the spans, set by :func:`collate` (CPU attention batches each run
    in one call)."""


def collate(batch: Sequence[Encoded], device: str, dtype: Any) -> dict[str, Any]:
    """One packed row: ``input_ids``/``position_ids`` [1, T], the attention ``spans`` and the
    index of each request's last token (batch order). Requests with the same marked prefix
    share one copy of it."""
    if batch and not any(e.payload.get("prefix_len") for e in batch):
        return _plain_row(batch, device)
    torch = _torch()
    ids: list[int] = []
    pos: list[int] = []
    spans = Spans()
    last = [0] * len(batch)
    prefix_at: dict[tuple[int, ...], tuple[int, int]] = {}
    for row, e in enumerate(batch):
        tokens = e.payload["input_ids"]
        shared = _prefix(e)
        context = None
        if shared:
            if shared not in prefix_at:
                prefix_at[shared] = (len(ids), len(ids) + len(shared))
                spans.append((len(ids), len(ids) + len(shared), None, None))
                ids += shared
                pos += range(len(shared))
            context = prefix_at[shared]
        start, own = len(ids), tokens[len(shared) :]
        ids += own
        pos += range(len(shared), len(tokens))
        mask = None
        if context is not None:  # every prefix key, then causal over the response's own keys
            # additive float mask: SDPA would convert a boolean one in every layer
            keep = torch.ones(len(own), len(shared) + len(own), dtype=torch.bool).tril(len(shared))
            mask = torch.zeros(keep.shape, dtype=dtype).masked_fill_(~keep, float("-inf"))
            mask = mask.to(device)
        spans.append((start, len(ids), context, mask))
        last[row] = len(ids) - 1
    if all(context is None for _, _, context, _ in spans):
        _set_varlen(spans, [end for _, end, _, _ in spans], device)
    return _packed_inputs(ids, pos, spans, last, device)


def _plain_row(batch: Sequence[Encoded], device: str) -> dict[str, Any]:
    """:func:`collate` of a batch without shared prefixes: each text one causal span, laid
    out with numpy (the same tensors as the general loop, without a Python step per token)."""
    import numpy as np

    lengths = np.fromiter((len(e.payload["input_ids"]) for e in batch), np.int64, len(batch))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    tokens = chain.from_iterable(e.payload["input_ids"] for e in batch)
    ids = np.fromiter(tokens, np.int64, int(ends[-1]))
    pos = np.arange(ends[-1], dtype=np.int64) - np.repeat(starts, lengths)
    bounds = ends.tolist()
    spans = Spans((a, b, None, None) for a, b in zip(starts.tolist(), bounds))
    _set_varlen(spans, bounds, device)
    return _packed_inputs(ids, pos, spans, ends - 1, device)


def _set_varlen(spans: Spans, ends: list[int], device: str) -> None:
    """``cu_seqlens`` and ``max_len`` of spans without shared prefixes (see :class:`Spans`)."""
    torch = _torch()
    spans.cu_seqlens = torch.tensor([0] + ends, dtype=torch.int32).to(device)
    spans.max_len = max(end - start for start, end, _, _ in spans)


def _packed_inputs(ids: Any, pos: Any, spans: Spans, last: Any, device: str) -> dict[str, Any]:
    """The model inputs of one packed row (int64 tensors built through numpy: ``torch.tensor``
    of a Python list is several times slower)."""
    import numpy as np

    def tensor(values: Any) -> Any:
        return _torch().from_numpy(np.asarray(values, dtype=np.int64)).to(device)

    row_ids = tensor(ids)[None]
    spans.runs = equal_runs(spans)
    return {
        "packed": True,
        "input_ids": row_ids,
        "position_ids": tensor(pos)[None],
        "attention_mask": _torch().ones_like(row_ids),  # all real: transformers builds no mask
        "spans": spans,
        "last": tensor(last),
    }


def logits(model: Any, inputs: dict[str, Any]) -> Any:
    """Head outputs [requests, labels] of a :func:`collate` batch, in batch order; refuses a
    model whose layers did not all apply the spans (its texts would have attended to each
    other)."""
    base = getattr(model, model.base_model_prefix)
    spans = inputs["spans"]
    spans.calls = 0
    hidden = base(
        input_ids=inputs["input_ids"],
        position_ids=inputs["position_ids"],
        attention_mask=inputs["attention_mask"],
        use_cache=False,  # scoring reads no cache: building one copies every layer's keys
        rmeval_spans=spans,
    ).last_hidden_state
    layers = model.config.get_text_config().num_hidden_layers
    if spans.calls != layers:
        raise RmevalError(
            f"{type(model).__name__} applied packed attention in {spans.calls} of {layers} "
            f"layers, so packed texts would see each other: use --model-args pack=false."
        )
    return model.score(hidden[0, inputs["last"]])


def packed_attention(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs: Any,
) -> tuple[Any, None]:
    """Attention over packed spans (queries/keys/values [1, heads, T, dim]); without
    ``rmeval_spans`` it is transformers' SDPA attention."""
    spans = kwargs.pop("rmeval_spans", None)
    if spans is None:
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        return sdpa_attention_forward(
            module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs
        )
    spans.calls += 1
    bad = [k for k in _UNSUPPORTED_KWARGS if kwargs.get(k) is not None]
    if bad:
        raise RmevalError(
            f"packing cannot apply {', '.join(bad)} in {type(module).__name__}: use "
            f"--model-args pack=false (and no share_prompts)."
        )
    if spans.cu_seqlens is not None and _varlen_applies(query):
        return _varlen_attention(query, key, value, spans, scaling), None
    sdpa = functools.partial(_torch().nn.functional.scaled_dot_product_attention, scale=scaling)
    if key.shape[1] != query.shape[1]:  # grouped-query attention: one key head per group
        if query.is_cuda:  # CUDA's masked kernels may not take grouped heads: repeat them
            key = key.repeat_interleave(query.shape[1] // key.shape[1], dim=1)
            value = value.repeat_interleave(query.shape[1] // value.shape[1], dim=1)
        else:  # CPU kernels read each key head for its group without a copy (~1.3x faster)
            sdpa = functools.partial(sdpa, enable_gqa=True)
    batch, heads, length, dim = query.shape
    out = query.new_empty((batch, length, heads, dim))  # the layout the output projection reads
    runs = spans.runs if spans.runs is not None else equal_runs(spans)
    runs = [(i, 1) for i in range(len(spans))] if query.is_cuda else runs  # CUDA kernels differ
    for first, count in runs:
        if count > 1:
            _run_attention(sdpa, (query, key, value), spans[first], count, out)
            continue
        start, end, context, mask = spans[first]
        q, k, v = query[:, :, start:end], key[:, :, start:end], value[:, :, start:end]
        if context is None:
            part = sdpa(q, k, v, is_causal=True)
        else:
            a, b = context
            k = _torch().cat([key[:, :, a:b], k], dim=2)
            v = _torch().cat([value[:, :, a:b], v], dim=2)
            part = sdpa(q, k, v, attn_mask=mask)
        out[:, start:end] = part.transpose(1, 2)
    return out, None


def equal_runs(spans: Sequence[tuple[int, int, Any, Any]]) -> list[tuple[int, int]]:
    """``(first span, count)`` covering ``spans`` in order: consecutive spans without a shared
    prefix, of one length and laid end to end, form one run (plans put texts longest first, so
    equal lengths are neighbours); every other span is a run of one."""
    runs: list[tuple[int, int]] = []
    for i, (start, end, context, _) in enumerate(spans):
        if runs and context is None:
            first, count = runs[-1]
            a, b, head_context, _ = spans[first]
            if head_context is None and b - a == end - start and a + count * (b - a) == start:
                runs[-1] = (first, count + 1)
                continue
        runs.append((i, 1))
    return runs


def _run_attention(sdpa: Any, qkv: tuple[Any, Any, Any], span: tuple, count: int, out: Any) -> None:
    """``count`` equal-length causal spans from ``span``'s start in one batched SDPA call into
    ``out`` (CPU: each text's attention is computed exactly as in its own call, bit for bit)."""
    start, end = span[0], span[1]
    stop = start + count * (end - start)

    def texts(x: Any) -> Any:  # [1, heads, count * L, dim] -> [count, heads, L, dim]
        return x[0, :, start:stop].unflatten(1, (count, end - start)).transpose(0, 1)

    part = sdpa(*(texts(x) for x in qkv), is_causal=True)
    out[0, start:stop].view(count, end - start, *out.shape[2:]).copy_(part.transpose(1, 2))


# -- one flash-attention call on CUDA -------------------------------------------------------------
def _varlen_applies(query: Any) -> bool:
    """Whether torch's flash-attention varlen kernel can run these spans: CUDA, half precision,
    compute capability 8.0+, head dim a multiple of 8 up to 256, and a torch that has it."""
    torch = _torch()
    return (
        query.is_cuda
        and query.dtype in (torch.float16, torch.bfloat16)
        and query.shape[-1] % 8 == 0
        and query.shape[-1] <= 256
        and torch.cuda.get_device_capability(query.device) >= (8, 0)
        and _varlen_kernel() is not None
    )


@functools.cache
def _varlen_kernel() -> Callable[..., Any] | None:
    """``varlen_attn(q, k, v, cu_seqlens, max_len, scale)`` over [tokens, heads, dim], causal
    per span with grouped-query heads, from ``torch.nn.attention.varlen``; None when this
    torch lacks it (torch < 2.9). Its keyword for causal masking changed between releases."""
    try:
        from torch.nn.attention.varlen import varlen_attn
    except ImportError:
        return None
    params = inspect.signature(varlen_attn).parameters
    causal = {"window_size": (-1, 0)} if "window_size" in params else {"is_causal": True}

    def call(q: Any, k: Any, v: Any, cu: Any, max_len: int, scale: float | None) -> Any:
        extra = dict(causal)
        if k.shape[1] != q.shape[1]:
            if "enable_gqa" in params:
                extra["enable_gqa"] = True
            else:
                k, v = (x.repeat_interleave(q.shape[1] // x.shape[1], dim=1) for x in (k, v))
        return varlen_attn(q, k, v, cu, cu, max_len, max_len, scale=scale, **extra)

    return call


def _varlen_attention(query: Any, key: Any, value: Any, spans: Spans, scaling: Any) -> Any:
    """Every span in one varlen call: [1, heads, T, dim] in, [1, T, heads, dim] out."""
    q, k, v = (x[0].transpose(0, 1).contiguous() for x in (query, key, value))
    return _varlen_kernel()(q, k, v, spans.cu_seqlens, spans.max_len, scaling).unsqueeze(0)
