"""The head of an ``hf`` reward model: logits, their reduction to one score, hidden states.

The reward is read at the last real token for decoder models and from the model's own pooling
for encoders. A multi-label head reports one score per label name and reduces them with
``reduce`` (mean, sum, first, max, min or a label). Probes read hidden states at the token the
reward is read from.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from typing import Any

from rmeval.harness.adapters import packing
from rmeval.harness.adapters.base import Encoded
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import Score

REDUCTIONS = ("mean", "sum", "first", "max", "min")


def no_cache(module: Any) -> dict[str, bool]:
    """``use_cache=False`` where ``module`` takes it: scoring reads no key/value cache, and
    building one (transformers' default for decoders) copies every layer's keys and values."""
    params = inspect.signature(module.forward).parameters
    return {"use_cache": False} if "use_cache" in params else {}


def labels(config: Any) -> list[str]:
    """The head's label names (``label_i`` where the config names none)."""
    n = int(getattr(config, "num_labels", 1))
    id2label = getattr(config, "id2label", None) or {}
    return [str(id2label.get(i, id2label.get(str(i), f"label_{i}"))) for i in range(n)]


def n_layers(config: Any) -> int:
    """Number of transformer layers of a config."""
    return int(getattr(config, "num_hidden_layers", 0) or getattr(config, "n_layer", 0))


def last_token(mask: Any) -> Any:
    """Index of each row's last real token of an attention mask, on either padding side."""
    import torch

    return (torch.arange(mask.shape[1], device=mask.device) * mask).argmax(-1)


def logits(model: Any, inputs: dict[str, Any], decoder: bool) -> Any:
    """Per-example head outputs [batch, num_labels] of collated ``inputs``, read at the last
    real token (decoders) or from the model's own pooling (encoders)."""
    import torch

    if inputs.get("packed"):
        return packing.logits(model, inputs)
    base = getattr(model, getattr(model, "base_model_prefix", ""), None)
    head = getattr(model, "score", None)
    if not (decoder and base is not None and isinstance(head, torch.nn.Module)):
        return model(**inputs, **no_cache(model)).logits
    hidden = base(**inputs, **no_cache(base)).last_hidden_state
    last = last_token(inputs["attention_mask"])
    last = last.to(hidden.device)  # a device_map may put the last layer on another GPU
    return head(hidden[torch.arange(hidden.shape[0], device=hidden.device), last])


def reduce(values: list[float], how: str, names: Sequence[str]) -> float:
    """One score from a multi-label row: the label ``how`` names, or a reduction of all."""
    if how in names:
        return values[list(names).index(how)]
    ops = {
        "mean": lambda v: sum(v) / len(v),
        "sum": sum,
        "first": lambda v: v[0],
        "max": max,
        "min": min,
    }
    if how not in ops:
        raise RmevalError(
            f"--model-args reduce={how}: use one of {', '.join(REDUCTIONS)} or a "
            f"label name ({', '.join(names)})."
        )
    return float(ops[how](values))


def to_score(values: list[float], enc: Encoded, names: Sequence[str], how: str) -> Score:
    """A request's score from its head row (with per-label attributes for multi-label)."""
    if len(values) == 1:
        return Score(values[0], enc.n_tokens, enc.truncated)
    attributes = dict(zip(names, values))
    return Score(reduce(values, how, names), enc.n_tokens, enc.truncated, attributes)


def to_scores(
    rows: list[list[float]], batch: Sequence[Encoded], names: Sequence[str], how: str
) -> list[Score]:
    """:func:`to_score` of each head row (``logits.tolist()``: one conversion per batch, not
    one tensor view per row) with its request's encoding."""
    if rows and len(rows[0]) == 1:  # one label: the value itself (the common case)
        return [Score(row[0], e.n_tokens, e.truncated) for row, e in zip(rows, batch)]
    return [to_score(row, e, names, how) for row, e in zip(rows, batch)]


def hidden_states(
    model: Any, batches: Iterable[dict[str, Any]], layers: Sequence[int], decoder: bool
) -> dict[int, Any]:
    """Features of padded ``batches`` at the token the reward is read from: last real token
    (decoders) or the first token (encoders' own [CLS] pooling), per layer (-1 = final)."""
    import numpy as np
    import torch

    feats: dict[int, list[Any]] = {layer: [] for layer in layers}
    for inputs in batches:
        with torch.inference_mode():
            out = model(**inputs, output_hidden_states=True, **no_cache(model))
        mask = inputs["attention_mask"]
        # encoders: the first real token ([CLS]), whichever side the padding is on
        idx = last_token(mask) if decoder else mask.argmax(-1)
        rows = torch.arange(mask.shape[0], device=mask.device)
        for layer in layers:
            feats[layer].append(out.hidden_states[layer][rows, idx].float().cpu().numpy())
    return {layer: np.concatenate(v) for layer, v in feats.items()}
