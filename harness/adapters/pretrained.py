"""``from_pretrained`` pass-through for ``hf``: placement, attention, quantization, templates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rmeval.harness.errors import RmevalError


def input_device(device: str | None, device_map: Any) -> str:
    """Where inputs go: ``device``, or the one device a ``device_map`` puts the whole model on
    when ``device`` is auto (``auto``/``balanced`` maps start at the first GPU, as ``cuda``)."""
    from rmeval.harness.adapters.hub import resolve_device

    single = isinstance(device_map, str) and (
        device_map in ("cpu", "mps", "cuda") or device_map.startswith("cuda:")
    )
    if device in (None, "", "auto") and single:
        return str(device_map)
    return resolve_device(device)


def chat_template_text(value: Any) -> str | None:
    """``chat_template=``: a file's text, or the value itself when it is a Jinja template."""
    if value is None:
        return None
    text = str(value)
    path = Path(text).expanduser()
    if path.is_file():
        return path.read_text(encoding="utf-8")
    if "{{" in text or "{%" in text:
        return text
    raise RmevalError(
        f"--model-args chat_template={text}: neither a file nor a Jinja template; give a path "
        f"to a .jinja file."
    )


def weights_kwargs(args: dict[str, Any], device_map: Any, device: str) -> dict[str, Any]:
    """``from_pretrained`` keywords for the weights: attention, placement, quantization."""
    out: dict[str, Any] = {}
    if args.get("attn_implementation") is not None:
        out["attn_implementation"] = str(args["attn_implementation"])
    quant = quantization(args)
    if quant is not None:
        out["quantization_config"] = quant
        device_map = device_map or device  # quantized weights are placed as they load
    if device_map is not None:
        out["device_map"] = device_map
    return out


def quantization(args: dict[str, Any]) -> Any:
    """A ``BitsAndBytesConfig`` from the quantization arguments (None without them)."""
    config = args.get("quantization_config")
    bits = {k: True for k in ("load_in_8bit", "load_in_4bit") if args.get(k)}
    if config is None and not bits:
        return None
    import importlib.util

    flag = "quantization_config" if config is not None else next(iter(bits))
    if importlib.util.find_spec("bitsandbytes") is None:
        raise RmevalError(
            f"--model-args {flag}: needs bitsandbytes, which is not installed; "
            f"`pip install bitsandbytes` (CUDA) or drop the argument."
        )
    fields = quantization_fields(config) | bits
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(**fields)


def quantization_fields(config: Any) -> dict[str, Any]:
    """``quantization_config=``'s fields: a mapping, a JSON object, or a .json file's content."""
    if config is None:
        return {}
    if isinstance(config, dict):
        return config
    text = str(config)
    path = Path(text).expanduser()
    try:
        fields = json.loads(path.read_text(encoding="utf-8") if path.is_file() else text)
    except (OSError, ValueError) as exc:
        raise RmevalError(
            f"--model-args quantization_config={text}: not a JSON object or .json file ({exc})."
        ) from exc
    if not isinstance(fields, dict):
        raise RmevalError(f"--model-args quantization_config={text}: give a JSON object.")
    return fields
