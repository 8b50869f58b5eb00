"""Frozen representations for probes: layer selection, extraction through the adapter, caching.

Features come from the model adapter's ``hidden_states(requests, layers)`` capability: for ``hf``
decoders the hidden state at the last real (non-pad) token of prompt + response, where the
reward is read; for ``hf`` encoders the first token ([CLS]); for ``embed`` the encoder's own
pooling (final layer only). Layer ``0`` is the embedding output and layer ``n_layers`` the final
layer (``-1`` means the final layer too).

Cache encoding: one blob per (model fingerprint, layer, request key) in the score cache's
``blobs`` table, namespace ``features/v1/<fingerprint>/<layer>``, key = request key, value =
``{"dtype": "float32", "dim": d, "b64": <base64 of the little-endian float32 bytes>}``. Base64
of the raw float32 bytes round-trips bit for bit (no pickle, no decimal rounding).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from rmeval.harness.errors import RmevalError
from rmeval.harness.progress import Progress
from rmeval.harness.records import ScoreRequest

FEATURES_VERSION = "v1"
"""Part of the cache namespace: bump when the extraction or encoding changes."""
CHUNK = 256
"""Texts extracted per adapter call between cache commits (a killed run resumes from there)."""


def resolve_layers(model: Any, layers: Any = -1) -> list[int]:
    """Layer indices to extract, ascending and without duplicates.

    ``layers`` is ``-1`` (default, the final layer), an int, ``"all"`` (every layer
    0..n_layers, for a per-layer curve), or a comma list / sequence of ints. For models that
    report ``n_layers``, negative indices are resolved (``-1`` -> ``n_layers``), so the same
    layer always has the same cache key; other models accept only ``-1``.
    """
    n_layers = getattr(model, "n_layers", None)
    if isinstance(layers, str) and layers.strip().lower() == "all":
        if not n_layers:
            raise RmevalError(
                f"layers=all needs a model with several layers (an 'hf' model); "
                f"{model.spec} gives final-layer features only: use layers=-1."
            )
        return list(range(int(n_layers) + 1))
    wanted = _parse_layer_list(layers)
    if not n_layers:
        if wanted != [-1]:
            raise RmevalError(
                f"layers={layers}: {model.spec} gives final-layer features only (layers=-1)."
            )
        return [-1]
    out = []
    for layer in wanted:
        resolved = layer + int(n_layers) + 1 if layer < 0 else layer
        if not 0 <= resolved <= int(n_layers):
            raise RmevalError(
                f"layers={layers}: layer {layer} does not exist; {model.spec} has layers "
                f"0..{n_layers} (or -1 for the final one)."
            )
        out.append(resolved)
    return sorted(set(out))


def _parse_layer_list(layers: Any) -> list[int]:
    items = (
        layers if isinstance(layers, (list, tuple)) else str(layers).replace(";", ",").split(",")
    )
    try:
        parsed = [int(str(x).strip()) for x in items if str(x).strip()]
    except ValueError:
        parsed = []
    if not parsed:
        raise RmevalError(f"layers={layers!r}: use -1, a layer number, a comma list or 'all'.")
    return parsed


def encode_vector(vec: np.ndarray) -> str:
    """JSON text holding a float32 vector exactly (base64 of its little-endian bytes)."""
    arr = np.ascontiguousarray(vec, dtype="<f4")
    return json.dumps(
        {"dtype": "float32", "dim": int(arr.size), "b64": base64.b64encode(arr.tobytes()).decode()}
    )


def decode_vector(text: str) -> np.ndarray:
    """Inverse of :func:`encode_vector`."""
    d = json.loads(text)
    arr = np.frombuffer(base64.b64decode(d["b64"]), dtype="<f4")
    if d.get("dtype") != "float32" or arr.size != d.get("dim"):
        raise RmevalError("a cached feature vector is corrupt; delete the --cache-dir and rerun.")
    return arr.astype(np.float32)


def namespace(fingerprint: str, layer: int) -> str:
    """Cache namespace of one model's features at one layer."""
    return f"features/{FEATURES_VERSION}/{fingerprint}/{layer}"


def extract(
    model: Any,
    requests: Sequence[ScoreRequest],
    layers: Sequence[int],
    cache: Any = None,
    progress: bool | str = False,
) -> dict[int, np.ndarray]:
    """Features ``{layer: [len(requests), dim] float32}`` in the order of ``requests``.

    Cached vectors are reused; the missing ones are extracted (unique texts only, shortest
    first to limit padding) in chunks of ``CHUNK`` and written to the cache after each chunk.
    """
    layers = list(layers)
    unique = list({r.key: r for r in requests}.values())
    fingerprint = model.fingerprint() if cache is not None else ""
    found: dict[int, dict[str, np.ndarray]] = {layer: {} for layer in layers}
    if cache is not None:
        for layer in layers:
            ns = namespace(fingerprint, layer)
            for r in unique:
                text = cache.get_blob(ns, r.key)
                if text is not None:
                    found[layer][r.key] = decode_vector(text)
    missing = [r for r in unique if any(r.key not in found[layer] for layer in layers)]
    missing.sort(key=lambda r: (len(r.prompt) + len(r.response), r.key))
    bar = Progress(len(missing), f"features {model.spec}", progress if missing else False)
    try:
        for start in range(0, len(missing), CHUNK):
            chunk = missing[start : start + CHUNK]
            fresh = _adapter_features(model, chunk, layers)
            for layer in layers:
                for r, vec in zip(chunk, fresh[layer]):
                    found[layer][r.key] = vec
                    if cache is not None:
                        cache.put_blob(namespace(fingerprint, layer), r.key, encode_vector(vec))
            bar.update(len(chunk))
    finally:
        bar.close()
    return {
        layer: np.stack([found[layer][r.key] for r in requests])
        if requests
        else np.zeros((0, 0), np.float32)
        for layer in layers
    }


def truncated_keys(model: Any, requests: Sequence[ScoreRequest]) -> set[str]:
    """Keys of the requests the model cuts to its maximum length (from its tokenizer alone, so
    cached features still get their truncation counted)."""
    return {r.key for r, e in zip(requests, model.encode(requests)) if e.truncated}


def _adapter_features(
    model: Any, chunk: list[ScoreRequest], layers: list[int]
) -> dict[int, np.ndarray]:
    """One adapter call; ``-1`` is asked as such (adapters without ``n_layers`` accept only it)."""
    out = model.hidden_states(chunk, layers=layers)
    result = {}
    for layer in layers:
        if layer not in out:
            raise RmevalError(f"model {model.spec} returned no hidden states for layer {layer}.")
        arr = np.asarray(out[layer], dtype=np.float32)
        if arr.shape[0] != len(chunk):
            raise RmevalError(
                f"model {model.spec} returned {arr.shape[0]} feature rows for {len(chunk)} texts."
            )
        result[layer] = arr
    return result
