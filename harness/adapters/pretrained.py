"""Loading and provenance for ``hf``: where a checkpoint's files are, what identifies them,
and ``from_pretrained`` of its tokenizer, config and classifier weights (placement, attention,
quantization and ``chat_template=`` passed through; weights that would be random refused).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rmeval.harness.adapters import hub
from rmeval.harness.errors import RmevalError

_WEIGHTS = (".safetensors", ".bin", ".pt", ".pth", ".ckpt")
_WEIGHT_ARGS = ("attn_implementation", "quantization_config", "load_in_8bit", "load_in_4bit")


@dataclass(frozen=True)
class Checkpoint:
    """An ``hf`` checkpoint's location, provenance and ``from_pretrained`` keywords."""

    model_id: str
    """Local folder or hub id."""
    revision: str | None
    """The commit the provenance resolved on the hub, else the requested ``revision``."""
    subfolder: str | None
    """Folder inside the checkpoint that holds the model."""
    safety: dict[str, bool]
    """``allow_unsafe_weights`` and ``trust_remote_code``."""
    weights: dict[str, Any]
    """``from_pretrained`` keywords for the weights only: attention, placement, quantization."""
    provenance: dict[str, Any]
    """What identifies the weights: file hashes locally, id and resolved commit on the hub."""
    tokenizer: str | None = None
    """``tokenizer=``: a folder or hub id that replaces the checkpoint's tokenizer."""
    chat_template: str | None = None
    """``chat_template=``'s text, which replaces the tokenizer's own."""

    @classmethod
    def of(cls, model_id: str, option: Callable[[str], Any], device: str) -> Checkpoint:
        """The checkpoint ``model_id`` as the ``hf`` arguments (``option(key)``) describe it;
        reads the provenance now, so a missing folder or unsafe file is refused at once."""
        weights = weights_kwargs({k: option(k) for k in _WEIGHT_ARGS}, option("device_map"), device)
        template = chat_template_text(option("chat_template"))
        safety = {
            "allow_unsafe_weights": option("allow_unsafe_weights"),
            "trust_remote_code": option("trust_remote_code"),
        }
        revision, subfolder = option("revision"), option("subfolder")
        weights_at = model_id
        if subfolder and hub.is_local(model_id):
            weights_at = str(Path(model_id).expanduser() / str(subfolder))
        found = hub.provenance(weights_at, revision, **safety)
        tokenizer = option("tokenizer")
        return cls(
            model_id,
            found["revision"] or revision,  # load the very commit that was fingerprinted
            subfolder,
            safety,
            weights,
            found,
            None if tokenizer is None else str(tokenizer),
            template,
        )

    def kwargs(self, weights: bool = False) -> dict[str, Any]:
        """``from_pretrained`` keywords: safety, revision, ``subfolder`` and, for the weights,
        ``attn_implementation``, ``device_map`` and quantization."""
        kwargs = hub.pretrained_kwargs(self.model_id, self.revision, **self.safety)
        if self.subfolder:
            kwargs["subfolder"] = str(self.subfolder)
        if not weights:
            kwargs.pop("use_safetensors", None)
            return kwargs
        return kwargs | self.weights

    def load_tokenizer(self) -> Any:
        """The checkpoint's tokenizer (or ``tokenizer=``), with ``chat_template=`` applied."""
        from transformers import AutoTokenizer

        if self.tokenizer is None:
            where, kwargs = self.model_id, self.kwargs()
        else:
            where = self.tokenizer
            kwargs = hub.pretrained_kwargs(where, None, **self.safety)
            kwargs.pop("use_safetensors", None)
        try:
            tok = AutoTokenizer.from_pretrained(where, **kwargs)
        except Exception as exc:
            raise hub.hub_error(where, exc) from exc
        if self.chat_template is not None:
            tok.chat_template = self.chat_template
        return tok

    def load_config(self) -> Any:
        """The checkpoint's ``AutoConfig``."""
        from transformers import AutoConfig

        try:
            return AutoConfig.from_pretrained(self.model_id, **self.kwargs(weights=False))
        except Exception as exc:
            raise hub.hub_error(self.model_id, exc) from exc

    def load_classifier(self, dtype: str, device: str, auto_class: Any = None) -> Any:
        """The sequence-classifier weights (or those of another ``Auto*`` class, e.g. a token
        classifier for process reward models) in ``dtype`` on ``device`` (unless a
        ``device_map`` placed them), in eval mode; a head that would be random is refused."""
        import torch
        from transformers import AutoModelForSequenceClassification

        auto_class = auto_class or AutoModelForSequenceClassification
        try:
            model, info = auto_class.from_pretrained(
                self.model_id,
                dtype=getattr(torch, dtype),
                output_loading_info=True,
                **self.kwargs(True),
            )
        except Exception as exc:
            raise hub.hub_error(self.model_id, exc) from exc
        refuse_new_weights(self.model_id, model, info)
        placed = "device_map" in self.weights  # accelerate placed it already
        return (model if placed else model.to(device)).eval()

    def tokenizer_identity(self) -> dict[str, Any]:
        """``tokenizer=``'s files by content (local) or its id (hub); nothing by default."""
        if self.tokenizer is None:
            return {}
        if not hub.is_local(self.tokenizer):
            return {"tokenizer": self.tokenizer}
        folder = Path(self.tokenizer).expanduser()
        files = hub.folder_hashes(folder) if folder.is_dir() else {}
        return {"tokenizer": {k: v for k, v in files.items() if not k.endswith(_WEIGHTS)}}


def refuse_new_weights(model_id: str, model: Any, info: dict[str, Any]) -> None:
    """Refuse a checkpoint whose weights transformers had to initialise at random (a causal LM
    or SFT checkpoint has no score head): its rewards would be noise, different every load."""
    missing = sorted(info.get("missing_keys") or []) + sorted(
        str(k[0] if isinstance(k, (tuple, list)) else k) for k in info.get("mismatched_keys") or []
    )
    if not missing:
        return
    prefix = f"{getattr(model, 'base_model_prefix', '')}."
    shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    if all(not k.startswith(prefix) for k in missing):
        raise RmevalError(
            f"{model_id}: not a reward model: its score head ({shown}) is not in the checkpoint "
            f"and would be random; score a causal LM with dpo:, likelihood: or judge: instead."
        )
    raise RmevalError(
        f"{model_id}: the checkpoint lacks weights ({shown}) that would be initialised at "
        f"random; check that the folder is complete and is a sequence-classifier reward model."
    )


def is_decoder(config: Any, tokenizer: Callable[[], Any]) -> bool:
    """Whether the model attends causally (reward read at the last real token), from its
    config: encoder-decoders, bidirectional attention and model types pretrained as masked
    LMs are encoders, other model types with a causal LM are decoders; for a type
    transformers does not know (remote code), a tokenizer (loaded only then) that frames text
    pairs with [CLS]/[SEP]-style tokens means an encoder."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    if getattr(config, "is_encoder_decoder", False):
        return False
    if getattr(config, "is_decoder", False):
        return True
    if getattr(config, "attn_type", None) == "bi" or getattr(
        config, "use_bidirectional_attention", False
    ):  # XLNet, bidirectional Gemma embedders
        return False
    kind = getattr(config, "model_type", "")
    if kind in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
        return False
    if kind in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        return True
    tok = tokenizer()
    return tok.sep_token is None or tok.cls_token is None


def input_device(device: str | None, device_map: Any) -> str:
    """Where inputs go: ``device``, or the one device a ``device_map`` puts the whole model on
    when ``device`` is auto (``auto``/``balanced`` maps start at the first GPU, as ``cuda``)."""
    single = isinstance(device_map, str) and (
        device_map in ("cpu", "mps", "cuda") or device_map.startswith("cuda:")
    )
    if device in (None, "", "auto") and single:
        return str(device_map)
    return hub.resolve_device(device)


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
