"""``hf``: a Hugging Face sequence-classifier reward model (local folder or hub id).

Text format: the tokenizer's chat template (user turn = prompt, assistant turn = response) when
it has one; otherwise a text pair for tokenizers with a separator token (BERT-style
classifiers); otherwise the plain format ``"User: {prompt}\\n\\nAssistant: {response}"``.
Multi-turn prompts pass every turn to the chat template (or to the plain format, one
``Role: content`` block per turn).
The reward is read at the last real token for decoder models (position ids are passed, so left
and right padding give the same scores) and from the model's own pooling for encoders.
Decoder classifiers on CPU run padding-free packed batches (``pack``, default ``auto``: on for
CPU; see :mod:`harness.adapters.packing`), and ``share_prompts=true`` computes each prompt once
for all its responses.
A multi-label head reports one score per label name and reduces them with ``reduce``.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from harness.adapters import hub, packing
from harness.adapters.base import Encoded, RewardModel
from harness.errors import RmevalError
from harness.records import Score, ScoreRequest

PLAIN_FORMAT = "User: {prompt}\n\nAssistant: {response}"
_REDUCTIONS = ("mean", "sum", "first", "max", "min")


def _no_cache(module: Any) -> dict[str, bool]:
    """``use_cache=False`` where ``module`` takes it: scoring reads no key/value cache, and
    building one (transformers' default for decoders) copies every layer's keys and values."""
    params = inspect.signature(module.forward).parameters
    return {"use_cache": False} if "use_cache" in params else {}


class HFRewardModel(RewardModel):
    """Sequence-classification reward model; see the module docstring for the text format."""

    type_name = "hf"
    adapter_version = "1"
    encode_in_worker = True
    cpu_activation_bytes = 16 << 20
    """CPU budgets keep the widest activation under this: glibc maps larger blocks afresh on
    every allocation, and the page faults made elementwise ops ~3× slower in ``rmeval bench``
    (model-only time was ~20-30% higher at 16,384 tokens than at 2,048-4,096)."""

    def __init__(
        self,
        model_id: str,
        revision: str | None = None,
        dtype: str | None = "auto",
        max_length: int | None = None,
        device: str | None = "auto",
        padding_side: str = "right",
        truncation_side: str = "left",
        reduce: str = "mean",
        share_prompts: bool = False,
        pack: bool | str = "auto",
        trust_remote_code: bool = False,
        allow_unsafe_weights: bool = False,
        **args: Any,
    ) -> None:
        if not model_id:
            raise RmevalError("--model hf:ID needs a folder or hub id, e.g. hf:./my-rm.")
        for flag, value, allowed in (
            ("padding_side", padding_side, ("left", "right")),
            ("truncation_side", truncation_side, ("left", "right")),
        ):
            if value not in allowed:
                raise RmevalError(f"--model-args {flag}={value}: use 'left' or 'right'.")
        if pack not in (True, False, "auto"):
            raise RmevalError(f"--model-args pack={pack}: use auto, true or false.")
        super().__init__(model_id, **args)
        self.revision = revision
        self.device = hub.resolve_device(device)
        self.dtype = hub.resolve_dtype(dtype, self.device)
        self.requested_max_length = max_length
        self.padding_side = padding_side
        self.truncation_side = truncation_side
        self.reduce = reduce
        self.share_prompts = bool(share_prompts)
        self.pack = pack
        self.safety = {
            "allow_unsafe_weights": allow_unsafe_weights,
            "trust_remote_code": trust_remote_code,
        }
        self._provenance = hub.provenance(model_id, revision, **self.safety)
        self._model: Any = None

    # -- loading ------------------------------------------------------------------------
    @cached_property
    def tokenizer(self) -> Any:
        from transformers import AutoTokenizer

        try:
            return AutoTokenizer.from_pretrained(self.model_id, **self._load_kwargs())
        except Exception as exc:
            raise hub.hub_error(self.model_id, exc) from exc

    @cached_property
    def config(self) -> Any:
        from transformers import AutoConfig

        try:
            return AutoConfig.from_pretrained(self.model_id, **self._load_kwargs(weights=False))
        except Exception as exc:
            raise hub.hub_error(self.model_id, exc) from exc

    def _load_kwargs(self, weights: bool = False) -> dict[str, Any]:
        kwargs = hub.pretrained_kwargs(self.model_id, self.revision, **self.safety)
        if not weights:
            kwargs.pop("use_safetensors", None)
        return kwargs

    @property
    def model(self) -> Any:
        if self._model is None:
            import torch
            from transformers import AutoModelForSequenceClassification

            try:
                model = AutoModelForSequenceClassification.from_pretrained(
                    self.model_id, dtype=getattr(torch, self.dtype), **self._load_kwargs(True)
                )
            except Exception as exc:
                raise hub.hub_error(self.model_id, exc) from exc
            self._model = model.to(self.device).eval()
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
        arch = " ".join(getattr(self.config, "architectures", None) or [])
        return not any(k in arch for k in ("Bert", "Roberta", "Deberta", "Electra", "XLM"))

    @cached_property
    def labels(self) -> list[str]:
        n = int(getattr(self.config, "num_labels", 1))
        id2label = getattr(self.config, "id2label", None) or {}
        return [str(id2label.get(i, id2label.get(str(i), f"label_{i}"))) for i in range(n)]

    def fingerprint_fields(self) -> dict[str, Any]:
        template = getattr(self.tokenizer, "chat_template", None)
        return self._provenance | {
            "dtype": self.dtype,
            "max_length": self.max_length,
            "truncation_side": self.truncation_side,
            "text_format": self.text_format if self.text_format != "plain" else PLAIN_FORMAT,
            "chat_template_sha256": hub.sha256_or_none(
                template if isinstance(template, str) else None
            ),
            "reduce": self.reduce if len(self.labels) > 1 else None,
        }

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
                rows["token_type_ids"] = (e.payload["token_type_ids"], 0)
            for name, (vals, fill) in rows.items():
                cols[name].append(
                    vals + [fill] * gap if self.padding_side == "right" else [fill] * gap + vals
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
            else:
                idx = torch.zeros(mask.shape[0], dtype=torch.long, device=mask.device)
            rows = torch.arange(mask.shape[0], device=mask.device)
            for layer in layers:
                feats[layer].append(out.hidden_states[layer][rows, idx].float().cpu().numpy())
        return {layer: np.concatenate(v) for layer, v in feats.items()}

    @property
    def n_layers(self) -> int:
        return int(
            getattr(self.config, "num_hidden_layers", 0) or getattr(self.config, "n_layer", 0)
        )
