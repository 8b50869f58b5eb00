"""``hf``: a Hugging Face sequence-classifier reward model (local folder or hub id).

Text format: the tokenizer's chat template (user turn = prompt, assistant turn = response) when
it has one; otherwise a text pair for encoders whose tokenizer has a separator token
(cross-encoders: encoder or decoder is read from the config, see ``_is_decoder``); otherwise the
plain format ``"User: {prompt}\\n\\nAssistant: {response}"``.
Multi-turn prompts pass every turn to the chat template (or to the plain format, one
``Role: content`` block per turn).
The reward is read at the last real token for decoder models (position ids are passed, so left
and right padding give the same scores) and from the model's own pooling for encoders (padded on
their tokenizer's side). A checkpoint whose score head would be newly initialised (a causal LM)
is refused at load, before anything is scored.
Decoder classifiers on CPU run padding-free packed batches (``pack``, default ``auto``: on for
CPU; see :mod:`harness.adapters.packing`), and ``share_prompts=true`` computes each prompt once
for all its responses.
A multi-label head reports one score per label name and reduces them with ``reduce``.
``--model-args`` are declared in :attr:`HFRewardModel.arguments` (``rmeval ls hf``); the
``from_pretrained`` ones (``subfolder``, ``attn_implementation``, ``device_map``, quantization)
are passed through, ``tokenizer=`` and ``chat_template=`` replace the checkpoint's own.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from rmeval.harness.adapters import hub, packing, pretrained
from rmeval.harness.adapters.base import (
    Arg,
    Encoded,
    RewardModel,
    parse_auto_bool,
    parse_bool,
    parse_choice,
    parse_int,
    parse_text,
)
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import Score, ScoreRequest

PLAIN_FORMAT = "User: {prompt}\n\nAssistant: {response}"
_REDUCTIONS = ("mean", "sum", "first", "max", "min")
_WEIGHTS = (".safetensors", ".bin", ".pt", ".pth", ".ckpt")


def _no_cache(module: Any) -> dict[str, bool]:
    """``use_cache=False`` where ``module`` takes it: scoring reads no key/value cache, and
    building one (transformers' default for decoders) copies every layer's keys and values."""
    params = inspect.signature(module.forward).parameters
    return {"use_cache": False} if "use_cache" in params else {}


def _refuse_new_weights(model_id: str, model: Any, info: dict[str, Any]) -> None:
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


class HFRewardModel(RewardModel):
    """Sequence-classification reward model; see the module docstring for the text format."""

    type_name = "hf"
    adapter_version = "1"
    encode_in_worker = True
    cpu_activation_bytes = 16 << 20
    """CPU budgets keep the widest activation under this: glibc maps larger blocks afresh on
    every allocation, and the page faults made elementwise ops ~3× slower in ``rmeval bench``
    (model-only time was ~20-30% higher at 16,384 tokens than at 2,048-4,096)."""

    arguments = {
        "revision": Arg(
            "hub branch, tag or commit (keyed on its commit)", by_content=True, parse=parse_text
        ),
        "subfolder": Arg(
            "folder inside the checkpoint (or hub repo) that holds the model", parse=parse_text
        ),
        "dtype": Arg("float32, bfloat16, float16 or auto", default="auto"),
        "max_length": Arg("max tokens per text (longer ones are truncated)", parse=parse_int),
        "truncation_side": Arg(
            "which end a long text loses", default="left", parse=parse_choice("left", "right")
        ),
        "reduce": Arg("multi-label heads: mean, sum, first, max, min or a label", default="mean"),
        "tokenizer": Arg(
            "tokenizer folder or hub id (default: the model's)", by_content=True, parse=parse_text
        ),
        "chat_template": Arg("Jinja chat template, or a file holding one", by_content=True),
        "attn_implementation": Arg("eager, sdpa or flash_attention_2 (from_pretrained)"),
        "quantization_config": Arg(
            "a .json file of BitsAndBytesConfig fields (bitsandbytes)", by_content=True
        ),
        "load_in_8bit": Arg("8-bit weights (bitsandbytes)", default=False, parse=parse_bool),
        "load_in_4bit": Arg("4-bit weights (bitsandbytes)", default=False, parse=parse_bool),
        "device": Arg("cpu, cuda, cuda:1, mps or auto", default="auto", output=False),
        "device_map": Arg("accelerate device map, e.g. auto to shard over GPUs", output=False),
        "padding_side": Arg(
            "left or right (equal scores: positions are passed)",
            default="right",
            output=False,
            parse=parse_choice("left", "right"),
        ),
        "pack": Arg(
            "padding-free packed batches: auto (on for CPU), true or false",
            default="auto",
            output=False,
            parse=parse_auto_bool,
        ),
        "share_prompts": Arg(
            "compute each shared prompt once (packed batches)",
            default=False,
            output=False,
            parse=parse_bool,
        ),
        "trust_remote_code": Arg(
            "allow the checkpoint's custom code", default=False, output=False, parse=parse_bool
        ),
        "allow_unsafe_weights": Arg(
            "allow pickled .bin weights", default=False, output=False, parse=parse_bool
        ),
    }

    def __init__(self, model_id: str, **args: Any) -> None:
        if not model_id:
            raise RmevalError("--model hf:ID needs a folder or hub id, e.g. hf:./my-rm.")
        super().__init__(model_id, **args)
        opt = self.argument
        self.revision = opt("revision")
        self.subfolder = opt("subfolder")
        device_map = opt("device_map")
        self.device = pretrained.input_device(opt("device"), device_map)
        self.dtype = hub.resolve_dtype(opt("dtype"), self.device)
        self.requested_max_length = opt("max_length")
        self.padding_side = opt("padding_side")
        self.truncation_side = opt("truncation_side")
        self.reduce = opt("reduce")
        self.share_prompts = opt("share_prompts")
        self.pack = opt("pack")
        self.safety = {
            "allow_unsafe_weights": opt("allow_unsafe_weights"),
            "trust_remote_code": opt("trust_remote_code"),
        }
        self._weights_kwargs = pretrained.weights_kwargs(self.args, device_map, self.device)
        self._chat_template = pretrained.chat_template_text(opt("chat_template"))
        weights_at = model_id
        if self.subfolder and hub.is_local(model_id):
            weights_at = str(Path(model_id).expanduser() / str(self.subfolder))
        self._provenance = hub.provenance(weights_at, self.revision, **self.safety)
        if self._provenance["revision"]:  # load the very commit that was fingerprinted
            self.revision = self._provenance["revision"]
        self._model: Any = None

    # -- loading ------------------------------------------------------------------------
    @cached_property
    def tokenizer(self) -> Any:
        """The model's tokenizer (or ``tokenizer=``), with ``chat_template=`` applied."""
        from transformers import AutoTokenizer

        source = self.argument("tokenizer")
        if source is None:
            where, kwargs = self.model_id, self._load_kwargs()
        else:
            where = str(source)
            kwargs = hub.pretrained_kwargs(where, None, **self.safety)
            kwargs.pop("use_safetensors", None)
        try:
            tok = AutoTokenizer.from_pretrained(where, **kwargs)
        except Exception as exc:
            raise hub.hub_error(where, exc) from exc
        if self._chat_template is not None:
            tok.chat_template = self._chat_template
        return tok

    @cached_property
    def config(self) -> Any:
        from transformers import AutoConfig

        try:
            return AutoConfig.from_pretrained(self.model_id, **self._load_kwargs(weights=False))
        except Exception as exc:
            raise hub.hub_error(self.model_id, exc) from exc

    def _load_kwargs(self, weights: bool = False) -> dict[str, Any]:
        """``from_pretrained`` keywords: safety, revision, ``subfolder`` and, for the weights,
        ``attn_implementation``, ``device_map`` and quantization."""
        kwargs = hub.pretrained_kwargs(self.model_id, self.revision, **self.safety)
        if self.subfolder:
            kwargs["subfolder"] = str(self.subfolder)
        if not weights:
            kwargs.pop("use_safetensors", None)
            return kwargs
        return kwargs | self._weights_kwargs

    @property
    def model(self) -> Any:
        if self._model is None:
            import torch
            from transformers import AutoModelForSequenceClassification

            try:
                model, info = AutoModelForSequenceClassification.from_pretrained(
                    self.model_id,
                    dtype=getattr(torch, self.dtype),
                    output_loading_info=True,
                    **self._load_kwargs(True),
                )
            except Exception as exc:
                raise hub.hub_error(self.model_id, exc) from exc
            _refuse_new_weights(self.model_id, model, info)
            placed = "device_map" in self._weights_kwargs  # accelerate placed it already
            self._model = (model if placed else model.to(self.device)).eval()
        return self._model

    # -- identity -----------------------------------------------------------------------
    @cached_property
    def max_length(self) -> int:
        """Requested max length, else the smaller of the tokenizer's and the positions' limit."""
        if self.requested_max_length:
            return int(self.requested_max_length)
        limits = [
            getattr(self.config, "max_position_embeddings", None),
            self.tokenizer.model_max_length,
        ]
        usable = [int(x) for x in limits if isinstance(x, int) and 0 < x < 1_000_000]
        return min(usable) if usable else 4096

    @cached_property
    def text_format(self) -> str:
        """``chat_template``, ``pair`` or ``plain`` (see the module docstring)."""
        if getattr(self.tokenizer, "chat_template", None):
            return "chat_template"
        if self.tokenizer.sep_token is not None and not self._is_decoder:
            return "pair"
        return "plain"

    @cached_property
    def _is_decoder(self) -> bool:
        """Whether the model attends causally (reward read at the last real token), from its
        config: encoder-decoders, bidirectional attention and model types pretrained as masked
        LMs are encoders, other model types with a causal LM are decoders; for a type
        transformers does not know (remote code), a tokenizer that frames text pairs with
        [CLS]/[SEP]-style tokens means an encoder."""
        from transformers.models.auto.modeling_auto import (
            MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
            MODEL_FOR_MASKED_LM_MAPPING_NAMES,
        )

        cfg = self.config
        if getattr(cfg, "is_encoder_decoder", False):
            return False
        if getattr(cfg, "is_decoder", False):
            return True
        if getattr(cfg, "attn_type", None) == "bi" or getattr(
            cfg, "use_bidirectional_attention", False
        ):  # XLNet, bidirectional Gemma embedders
            return False
        kind = getattr(cfg, "model_type", "")
        if kind in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
            return False
        if kind in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
            return True
        tok = self.tokenizer
        return tok.sep_token is None or tok.cls_token is None

    @cached_property
    def labels(self) -> list[str]:
        n = int(getattr(self.config, "num_labels", 1))
        id2label = getattr(self.config, "id2label", None) or {}
        return [str(id2label.get(i, id2label.get(str(i), f"label_{i}"))) for i in range(n)]

    def fingerprint_fields(self) -> dict[str, Any]:
        template = getattr(self.tokenizer, "chat_template", None)
        return (
            self._provenance
            | {
                "dtype": self.dtype,
                "max_length": self.max_length,
                "truncation_side": self.truncation_side,
                "text_format": self.text_format if self.text_format != "plain" else PLAIN_FORMAT,
                "chat_template_sha256": hub.sha256_or_none(
                    template if isinstance(template, str) else None
                ),
                "reduce": self.reduce if len(self.labels) > 1 else None,
            }
            | self._tokenizer_identity()
            | self._quantization_identity()
        )

    def _quantization_identity(self) -> dict[str, Any]:
        """``quantization_config=`` by its fields (a file edited in place is a new model)."""
        config = self.argument("quantization_config")
        return {} if config is None else {"quantization": pretrained.quantization_fields(config)}

    def _tokenizer_identity(self) -> dict[str, Any]:
        """``tokenizer=``'s files by content (local) or its id (hub); nothing by default."""
        source = self.argument("tokenizer")
        if source is None:
            return {}
        if not hub.is_local(str(source)):
            return {"tokenizer": str(source)}
        folder = Path(str(source)).expanduser()
        files = hub.folder_hashes(folder) if folder.is_dir() else {}
        return {"tokenizer": {k: v for k, v in files.items() if not k.endswith(_WEIGHTS)}}

    def n_parameters(self) -> int | None:
        return None if self._model is None else sum(p.numel() for p in self._model.parameters())

    # -- encoding -----------------------------------------------------------------------
    def text_of(self, request: ScoreRequest) -> str:
        """The templated text of a request (chat template or plain format; not ``pair``)."""
        if self.text_format == "chat_template":
            return self.tokenizer.apply_chat_template(request.messages(), tokenize=False)
        if request.context:  # earlier turns in the same "Role: content" style
            return f"{request.prompt_text}\n\nAssistant: {request.response}"
        return PLAIN_FORMAT.format(prompt=request.prompt, response=request.response)

    def _token_ids(self, requests: Sequence[ScoreRequest]) -> list[dict[str, list[int]]]:
        """Token ids per request; one batched tokenizer call (a fast tokenizer runs it in
        parallel, and gives the same ids as one call per text)."""
        tok = self.tokenizer
        if not requests:
            return []
        if self.text_format == "pair":
            enc = tok([r.prompt_text for r in requests], [r.response for r in requests])
            names = [k for k in ("input_ids", "token_type_ids") if k in enc]
            return [{k: enc[k][i] for k in names} for i in range(len(requests))]
        texts = [self.text_of(r) for r in requests]
        special = self.text_format != "chat_template"
        ids = tok(texts, add_special_tokens=special)["input_ids"]
        return [{"input_ids": x} for x in ids]

    def encode(self, requests: Sequence[ScoreRequest]) -> list[Encoded]:
        out = []
        for ids in self._token_ids(requests):
            n = len(ids["input_ids"])
            truncated = n > self.max_length
            if truncated:
                cut = (
                    slice(n - self.max_length, n)
                    if self.truncation_side == "left"
                    else slice(0, self.max_length)
                )
                ids = {k: v[cut] for k, v in ids.items()}
            out.append(Encoded(len(ids["input_ids"]), ids, truncated))
        if self.share_prompts and self._packing:
            packing.mark_shared_prefixes([r.prompt_text for r in requests], out)
        return out

    @cached_property
    def _packing(self) -> bool:
        """Whether batches are packed (see ``pack``); refuses ``pack=true`` or
        ``share_prompts=true`` on a model that cannot be packed."""
        forced = self.pack is True or self.share_prompts
        if not (forced or (self.pack == "auto" and self.device == "cpu")):
            return False
        why = "an encoder classifier" if not self._is_decoder else None
        why = why or packing.unsupported_reason(self.model)
        if why is None:
            packing.enable(self.model)
        elif forced:
            flags = "pack=true" if self.pack is True else "share_prompts=true"
            raise RmevalError(f"--model-args {flags}: {self.model_id} cannot be packed ({why}).")
        return why is None

    def plan(self, encoded: Sequence[Encoded], budget: int, keys: Sequence[str]) -> list[list[int]]:
        if self._packing:
            return packing.plan(encoded, budget, keys)
        return super().plan(encoded, budget, keys)

    def auto_batch_tokens(self) -> int:
        """Token budget for ``--batch-tokens auto``, a power of two. On CUDA: half the free
        memory over an activation estimate per token (1,024 to 1,048,576). Elsewhere: the
        widest activation (tokens × intermediate size) within ``cpu_activation_bytes``
        (1,024 to 16,384)."""
        cfg = self.config
        hidden = int(getattr(cfg, "hidden_size", 0) or getattr(cfg, "n_embd", 1024))
        inter = int(
            getattr(cfg, "intermediate_size", 0) or getattr(cfg, "n_inner", 0) or 4 * hidden
        )
        width = 2 if self.dtype != "float32" else 4
        if not self.device.startswith("cuda"):
            fits = self.cpu_activation_bytes // (width * max(hidden, inter))
            return 1 << max(10, min(14, fits.bit_length() - 1))
        import torch

        _ = self.model  # weights first, so free memory excludes them
        free, _total = torch.cuda.mem_get_info(self.device)
        per_token = width * (4 * hidden + 3 * inter) + 4 * self.max_length  # + mask row
        budget = 1 << max(10, min(20, int(free * 0.5 // per_token).bit_length() - 1))
        return budget

    # -- forward ------------------------------------------------------------------------
    def collate(self, batch: Sequence[Encoded]) -> dict[str, Any]:
        """Input tensors on the device (run ahead in a worker thread by the scorer)."""
        import torch

        if self._packing:
            return packing.collate(batch, self.device, getattr(torch, self.dtype))
        return self._pad(batch)

    @property
    def _pad_id(self) -> int:
        pad_id = self.tokenizer.pad_token_id
        return pad_id if pad_id is not None else (self.tokenizer.eos_token_id or 0)

    @cached_property
    def _pad_side(self) -> str:
        """``padding_side`` for decoders (positions are passed, so either side scores the
        same); an encoder pads where its tokenizer does, as it was trained (XLNet pools the
        last position and pads left, BERT-style models number positions from the left)."""
        if self._is_decoder:
            return self.padding_side
        return "left" if getattr(self.tokenizer, "padding_side", "right") == "left" else "right"

    @cached_property
    def _pad_type_id(self) -> int:
        return int(getattr(self.tokenizer, "pad_token_type_id", 0) or 0)

    def _pad(self, batch: Sequence[Encoded]) -> dict[str, Any]:
        import torch

        width = max(e.n_tokens for e in batch)
        pad_id = self._pad_id
        cols: dict[str, list[list[int]]] = {"input_ids": [], "attention_mask": []}
        if "token_type_ids" in batch[0].payload:
            cols["token_type_ids"] = []
        for e in batch:
            gap = width - e.n_tokens
            rows = {
                "input_ids": (e.payload["input_ids"], pad_id),
                "attention_mask": ([1] * e.n_tokens, 0),
            }
            if "token_type_ids" in cols:
                rows["token_type_ids"] = (e.payload["token_type_ids"], self._pad_type_id)
            for name, (vals, fill) in rows.items():
                cols[name].append(
                    vals + [fill] * gap if self._pad_side == "right" else [fill] * gap + vals
                )
        tensors = {k: torch.tensor(v, device=self.device) for k, v in cols.items()}
        if self._is_decoder:
            tensors["position_ids"] = (tensors["attention_mask"].cumsum(-1) - 1).clamp(min=0)
        return tensors

    def logits(self, inputs: dict[str, Any]) -> Any:
        """Per-example head outputs [batch, num_labels] of a :meth:`collate` output, read at
        the last real token (decoders) or from the model's pooling (encoders)."""
        import torch

        model = self.model
        if inputs.get("packed"):
            return packing.logits(model, inputs)
        base = getattr(model, getattr(model, "base_model_prefix", ""), None)
        head = getattr(model, "score", None)
        if not (self._is_decoder and base is not None and isinstance(head, torch.nn.Module)):
            return model(**inputs, **_no_cache(model)).logits
        hidden = base(**inputs, **_no_cache(base)).last_hidden_state
        mask = inputs["attention_mask"]
        positions = torch.arange(mask.shape[1], device=mask.device)
        last = (positions * mask).argmax(-1)  # index of the last real token, any padding side
        last = last.to(hidden.device)  # a device_map may put the last layer on another GPU
        return head(hidden[torch.arange(hidden.shape[0], device=hidden.device), last])

    def forward(self, batch: Sequence[Encoded]) -> list[Score]:
        return self.forward_collated(self.collate(batch), batch)

    def forward_collated(self, inputs: dict[str, Any], batch: Sequence[Encoded]) -> list[Score]:
        """Scores of ``batch`` from its :meth:`collate` output."""
        import torch

        with torch.inference_mode():
            logits = self.logits(inputs).float().cpu()
        return [self._to_score(row.tolist(), e) for row, e in zip(logits, batch)]

    def _to_score(self, values: list[float], enc: Encoded) -> Score:
        if len(values) == 1:
            return Score(values[0], enc.n_tokens, enc.truncated)
        attributes = dict(zip(self.labels, values))
        return Score(self._reduce(values), enc.n_tokens, enc.truncated, attributes)

    def _reduce(self, values: list[float]) -> float:
        if self.reduce in self.labels:
            return values[self.labels.index(self.reduce)]
        ops = {
            "mean": lambda v: sum(v) / len(v),
            "sum": sum,
            "first": lambda v: v[0],
            "max": max,
            "min": min,
        }
        if self.reduce not in ops:
            raise RmevalError(
                f"--model-args reduce={self.reduce}: use one of {', '.join(_REDUCTIONS)} or a "
                f"label name ({', '.join(self.labels)})."
            )
        return float(ops[self.reduce](values))

    # -- probes -------------------------------------------------------------------------
    def hidden_states(
        self, requests: Sequence[ScoreRequest], layers: Sequence[int] | None = None
    ) -> dict[int, Any]:
        """Features at the token the reward is read from: last real token (decoders) or the
        first token (encoders' own [CLS] pooling), for each requested layer (-1 = final)."""
        import numpy as np
        import torch

        layers = list(layers) if layers is not None else [-1]
        encoded = self.encode(requests)
        feats: dict[int, list[Any]] = {layer: [] for layer in layers}
        for start in range(0, len(encoded), 16):
            batch = encoded[start : start + 16]
            inputs = self._pad(batch)
            with torch.inference_mode():
                out = self.model(**inputs, output_hidden_states=True, **_no_cache(self.model))
            mask = inputs["attention_mask"]
            if self._is_decoder:
                idx = (torch.arange(mask.shape[1], device=mask.device) * mask).argmax(-1)
            else:  # the first real token ([CLS]), whichever side the padding is on
                idx = mask.argmax(-1)
            rows = torch.arange(mask.shape[0], device=mask.device)
            for layer in layers:
                feats[layer].append(out.hidden_states[layer][rows, idx].float().cpu().numpy())
        return {layer: np.concatenate(v) for layer, v in feats.items()}

    @property
    def n_layers(self) -> int:
        return int(
            getattr(self.config, "num_hidden_layers", 0) or getattr(self.config, "n_layer", 0)
        )
