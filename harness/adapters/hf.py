"""``hf``: a Hugging Face sequence-classifier reward model (local folder or hub id).

:class:`HFRewardModel` composes four parts, one concept each:
:mod:`~rmeval.harness.adapters.pretrained` (loading and provenance: a checkpoint whose score
head would be newly initialised, a causal LM, is refused at load, before anything is scored),
:mod:`~rmeval.harness.adapters.hf_text` (text formats: chat, pair, concat, plain or a template file),
:mod:`~rmeval.harness.adapters.hf_batches` (packed or padded batches, the ``auto`` token
budget; ``share_prompts=true`` computes each prompt once for all its responses) and
:mod:`~rmeval.harness.adapters.hf_head` (logits at the reward token, multi-label ``reduce``,
hidden states for probes). Whether the model is a decoder or an encoder is read from its config.
``--model-args`` are declared in :attr:`HFRewardModel.arguments` (``rmeval ls hf``); the
``from_pretrained`` ones (``subfolder``, ``attn_implementation``, ``device_map``, quantization)
are passed through, ``tokenizer=`` and ``chat_template=`` replace the checkpoint's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from rmeval.harness.adapters import hf_batches, hf_head, hf_text, hub, packing, pretrained
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
from rmeval.harness.adapters.head_loaders import LayoutParts
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import Score, ScoreRequest


class HFRewardModel(LayoutParts, RewardModel):
    """Sequence-classification reward model; see the module docstring for its parts."""

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
        "base": Arg("a PEFT adapter's base model", by_content=True, parse=parse_text),
        "merge": Arg("merge a PEFT adapter into its base weights", default=False, parse=parse_bool),
        "tokenizer": Arg(
            "tokenizer folder or hub id (default: the model's)", by_content=True, parse=parse_text
        ),
        "chat_template": Arg("Jinja chat template, or a file holding one", by_content=True),
        "format": hf_text.FORMAT_ARG,
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
        self.device = pretrained.input_device(opt("device"), opt("device_map"))
        self.dtype = hub.resolve_dtype(opt("dtype"), self.device)
        self.requested_max_length = opt("max_length")
        self.padding_side = opt("padding_side")
        self.truncation_side = opt("truncation_side")
        self.share_prompts = opt("share_prompts")
        self.pack = opt("pack")
        self.checkpoint = self.locate(model_id)
        """Where the files are, what identifies them, and how they load."""
        self._model: Any = None

    def execution(self) -> dict[str, Any]:
        """The device and, once decided (deciding can load the model), whether it packs."""
        return {"device": self.device, "packing": self.__dict__.get("_packing")}

    def locate(self, model_id: str) -> pretrained.Checkpoint:
        """The checkpoint behind ``model_id`` (reads its provenance now); adapters whose model
        is given as an object override it."""
        return pretrained.Checkpoint.of(model_id, self.argument, self.device)

    # -- loading ------------------------------------------------------------------------
    @property
    def revision(self) -> str | None:
        """The hub commit that is loaded (and fingerprinted), or the requested revision."""
        return self.checkpoint.revision

    @property
    def subfolder(self) -> str | None:
        """The folder inside the checkpoint that holds the model (``subfolder=``)."""
        return self.checkpoint.subfolder

    @property
    def safety(self) -> dict[str, bool]:
        """``allow_unsafe_weights`` and ``trust_remote_code``."""
        return self.checkpoint.safety

    @cached_property
    def tokenizer(self) -> Any:
        """The model's tokenizer (or ``tokenizer=``), with ``chat_template=`` applied."""
        return self.checkpoint.load_tokenizer()

    @cached_property
    def config(self) -> Any:
        """The model's ``AutoConfig``."""
        return self.checkpoint.load_config()

    @property
    def model(self) -> Any:
        """The classifier, loaded on first use."""
        if self._model is None:
            self._model = self.checkpoint.load_classifier(self.dtype, self.device)
        return self._model

    @cached_property
    def _is_decoder(self) -> bool:
        """Whether the model attends causally (see :func:`pretrained.is_decoder`)."""
        return pretrained.is_decoder(self.config, lambda: self.tokenizer)

    # -- identity -----------------------------------------------------------------------
    @cached_property
    def max_length(self) -> int:
        """Requested max length, else the smaller of the tokenizer's and the positions' limit."""
        return hf_text.max_length(self.requested_max_length, self.config, self.tokenizer)

    @cached_property
    def text_format(self) -> hf_text.TextFormat:
        """``format=``, or the default decided from the checkpoint (see :mod:`hf_text`)."""
        return hf_text.choose_format(
            self.argument("format"), self.tokenizer, self._is_decoder, self.spec
        )

    def fingerprint_fields(self) -> dict[str, Any]:
        template = getattr(self.tokenizer, "chat_template", None)
        return (
            self.checkpoint.provenance
            | {
                "dtype": self.dtype,
                "max_length": self.max_length,
                "truncation_side": self.truncation_side,
                "text_format": self.text_format.identity,
                "text_template_sha256": self.text_format.template_sha256,
                "chat_template_sha256": hub.sha256_or_none(
                    template if isinstance(template, str) else None
                ),
                "reduce": self.reduce if len(self.labels) > 1 else None,
            }
            | self.layout_fields()
            | self.checkpoint.tokenizer_identity()
            | self._quantization_identity()
        )

    def _quantization_identity(self) -> dict[str, Any]:
        """``quantization_config=`` by its fields (a file edited in place is a new model)."""
        config = self.argument("quantization_config")
        return {} if config is None else {"quantization": pretrained.quantization_fields(config)}

    def n_parameters(self) -> int | None:
        return None if self._model is None else sum(p.numel() for p in self._model.parameters())

    # -- encoding -----------------------------------------------------------------------
    def text_of(self, request: ScoreRequest) -> str:
        """The formatted text of a request (every format but ``pair``)."""
        return hf_text.text_of(self.tokenizer, self.text_format, request)

    def encode(self, requests: Sequence[ScoreRequest]) -> list[Encoded]:
        ids = hf_text.token_ids(self.tokenizer, self.text_format, requests)
        out = [hf_text.truncate(x, self.max_length, self.truncation_side) for x in ids]
        self.add_conversations(out, requests)
        if self.share_prompts and self._packing:
            packing.mark_shared_prefixes([r.prompt_text for r in requests], out)
        return out

    def show(self, requests: Sequence[ScoreRequest]) -> list[list[str]]:
        """The text, ids and reward position of each request (``rmeval show``)."""
        from rmeval.harness.adapters.shown import classifier_view

        return classifier_view(self, requests)

    # -- batching -----------------------------------------------------------------------
    @cached_property
    def _packing(self) -> bool:
        """Whether batches are packed (see ``pack``); refuses ``pack=true`` or
        ``share_prompts=true`` on a model that cannot be packed."""
        settings = hf_batches.Packing(self.pack, self.share_prompts)
        return settings.applies(self.device, self._is_decoder, lambda: self.model, self.model_id)

    @cached_property
    def _padding(self) -> hf_batches.Padding:
        """The layout of padded batches (pad ids, side, positions)."""
        return hf_batches.Padding.of(self.tokenizer, self._is_decoder, self.padding_side)

    def plan(self, encoded: Sequence[Encoded], budget: int, keys: Sequence[str]) -> list[list[int]]:
        if self._packing:
            return packing.plan(encoded, budget, keys)
        return super().plan(encoded, budget, keys)

    def auto_batch_tokens(self) -> int:
        """Token budget for ``--batch-tokens auto``, a power of two. On CUDA: half the free
        memory over an activation estimate per token (1,024 to 1,048,576). Elsewhere: the
        widest activation (tokens × intermediate size) within ``cpu_activation_bytes``
        (1,024 to 16,384)."""
        if not self.device.startswith("cuda"):
            return hf_batches.cpu_batch_tokens(self.config, self.dtype, self.cpu_activation_bytes)
        _ = self.model  # weights first, so free memory excludes them
        return hf_batches.cuda_batch_tokens(self.config, self.dtype, self.device, self.max_length)

    def collate(self, batch: Sequence[Encoded]) -> dict[str, Any]:
        """Input tensors on the device (run ahead in a worker thread by the scorer)."""
        import torch

        if self._packing:
            return packing.collate(batch, self.device, getattr(torch, self.dtype))
        return self._pad(batch)

    def _pad(self, batch: Sequence[Encoded]) -> dict[str, Any]:
        return self._padding.collate(batch, self.device)

    # -- head ---------------------------------------------------------------------------
    def logits(self, inputs: dict[str, Any]) -> Any:
        """Per-example head outputs [batch, num_labels] of a :meth:`collate` output, read at
        the last real token (decoders) or from the model's pooling (encoders)."""
        return hf_head.logits(self.model, inputs, self._is_decoder)

    def forward(self, batch: Sequence[Encoded]) -> list[Score]:
        return self.forward_collated(self.collate(batch), batch)

    def forward_collated(self, inputs: dict[str, Any], batch: Sequence[Encoded]) -> list[Score]:
        """Scores of ``batch`` from its :meth:`collate` output."""
        import torch

        with torch.inference_mode():
            logits = self.logits(inputs).float().cpu()
        return hf_head.to_scores(logits.tolist(), batch, self.labels, self.reduce)

    def hidden_states(
        self, requests: Sequence[ScoreRequest], layers: Sequence[int] | None = None
    ) -> dict[int, Any]:
        """Features at the token the reward is read from: last real token (decoders) or the
        first token (encoders' own [CLS] pooling), for each requested layer (-1 = final)."""
        encoded = self.encode(requests)
        batches = (self._pad(encoded[s : s + 16]) for s in range(0, len(encoded), 16))
        layers = list(layers) if layers is not None else [-1]
        return hf_head.hidden_states(self.model, batches, layers, self._is_decoder)

    @property
    def n_layers(self) -> int:
        return hf_head.n_layers(self.config)
