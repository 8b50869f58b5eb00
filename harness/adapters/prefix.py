"""Prompt sharing for decoder reward models: a prompt's tokens are computed once per batch.

When several responses share one prompt (best-of-n sets, RewardBench 2), the longest common
token prefix of their templated texts is run once, its key/value cache is reused by every
response, and only the response tokens are computed per row. Scores equal the unshared forward
up to float rounding (position ids continue after the real prefix; padding is masked).
Used by the ``hf`` adapter with ``--model-args share_prompts=true``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from harness.adapters.base import Encoded
from harness.batching import plan_batches

MIN_SHARED = 8
"""Shorter shared prefixes are not worth a second pass."""


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


def plan_shared(encoded: Sequence[Encoded], budget: int, keys: Sequence[str]) -> list[list[int]]:
    """Batches that keep each prompt group whole: groups sorted by prefix length (longest
    first), packed while prefix + response tokens fit the budget; unshared requests are planned
    as usual. A pure function of the encodings, so resumed runs plan identically."""
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    plain: list[int] = []
    for i, e in enumerate(encoded):
        (groups[_prefix(e)] if e.payload.get("prefix_len") else plain).append(i)
    units = sorted(groups.items(), key=lambda kv: (-len(kv[0]), keys[kv[1][0]]))
    batches: list[list[int]] = []
    current: list[int] = []
    cost = 0
    for prefix, members in units:
        unit = len(prefix) + sum(encoded[i].n_tokens - len(prefix) for i in members)
        if current and cost + unit > budget:
            batches.append(current)
            current, cost = [], 0
        current.extend(members)
        cost += unit
    if current:
        batches.append(current)
    plain_lengths = [encoded[i].n_tokens for i in plain]
    tiebreak = [keys[i] for i in plain]
    batches += [[plain[j] for j in b] for b in plan_batches(plain_lengths, budget, tiebreak)]
    return batches


def is_shared(batch: Sequence[Encoded]) -> bool:
    """True when every row of the batch has a shared prefix (as ``plan_shared`` builds them)."""
    return all(e.payload.get("prefix_len") for e in batch)


def collate_shared(batch: Sequence[Encoded], pad_id: int, device: str) -> dict[str, Any]:
    """Right-padded prefix tensors (one row per distinct prefix) and suffix sub-batches of
    similar length, each with its rows' prefix index and the combined attention mask."""
    import torch

    index: dict[tuple[int, ...], int] = {}
    for e in batch:
        index.setdefault(_prefix(e), len(index))
    prefixes = list(index)
    width = max(len(p) for p in prefixes)
    pmask = torch.tensor([[1] * len(p) + [0] * (width - len(p)) for p in prefixes])
    prefix = {
        "input_ids": torch.tensor([list(p) + [pad_id] * (width - len(p)) for p in prefixes]),
        "attention_mask": pmask,
        "position_ids": (pmask.cumsum(-1) - 1).clamp(min=0),
    }
    suffixes = [e.payload["input_ids"][e.payload["prefix_len"] :] for e in batch]
    lengths = [len(s) for s in suffixes]
    subs = []
    for rows in plan_batches(lengths, budget=sum(lengths)):
        s_width = max(lengths[r] for r in rows)
        group = torch.tensor([index[_prefix(batch[r])] for r in rows])
        smask = torch.tensor([[1] * lengths[r] + [0] * (s_width - lengths[r]) for r in rows])
        start = pmask.sum(-1)[group]
        subs.append({
            "rows": rows,
            "group": group.to(device),
            "input_ids": torch.tensor([suffixes[r] + [pad_id] * (s_width - lengths[r]) for r in rows]).to(device),
            "attention_mask": torch.cat([pmask[group], smask], dim=1).to(device),
            "position_ids": (start[:, None] + torch.arange(s_width)[None, :]).to(device),
            "last": torch.tensor([lengths[r] - 1 for r in rows], device=device),
        })  # fmt: skip
    return {"shared": True, "prefix": {k: v.to(device) for k, v in prefix.items()}, "subs": subs}


def logits_shared(model: Any, inputs: dict[str, Any]) -> Any:
    """Head outputs [rows, labels] in batch order: prefixes once, then each suffix sub-batch
    attends to its rows' prefix keys/values."""
    import torch
    from transformers import DynamicCache

    base = getattr(model, model.base_model_prefix)
    if not isinstance(getattr(model, "score", None), torch.nn.Module):
        from harness.errors import RmevalError

        raise RmevalError(
            f"share_prompts=true needs a decoder classifier with a `score` head; "
            f"{type(model).__name__} has none: drop share_prompts."
        )
    cache = DynamicCache(config=model.config)
    base(**inputs["prefix"], cache=cache, use_cache=True)
    kv = [(layer.keys, layer.values) for layer in cache.layers]
    n_rows = sum(len(s["rows"]) for s in inputs["subs"])
    out: Any = None
    for sub in inputs["subs"]:
        g = sub["group"]
        rows_cache = DynamicCache(ddp_cache_data=[(k[g], v[g]) for k, v in kv], config=model.config)
        hidden = base(
            input_ids=sub["input_ids"],
            attention_mask=sub["attention_mask"],
            position_ids=sub["position_ids"],
            cache=rows_cache,
            use_cache=True,
        ).last_hidden_state
        logits = model.score(
            hidden[torch.arange(hidden.shape[0], device=hidden.device), sub["last"]]
        )
        if out is None:
            out = logits.new_empty((n_rows, logits.shape[-1]))
        out[torch.tensor(sub["rows"], device=logits.device)] = logits
    return out
