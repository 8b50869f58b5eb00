"""Batching for ``hf``: packed or padded input tensors, and the ``--batch-tokens auto`` budget.

Decoder classifiers on CPU run padding-free packed batches (``pack``, default ``auto``: on for
CPU; see :mod:`rmeval.harness.adapters.packing`); other batches are padded rows. Decoders pass
position ids, so left and right padding give the same scores; an encoder pads on its
tokenizer's side, as it was trained.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rmeval.harness.adapters import packing
from rmeval.harness.adapters.base import Encoded
from rmeval.harness.errors import RmevalError


@dataclass(frozen=True)
class Packing:
    """The packing arguments of an ``hf`` model."""

    pack: bool | str
    """``pack=``: ``auto`` (on for CPU), True or False."""
    share_prompts: bool
    """``share_prompts=``: each shared prompt computed once (needs packed batches)."""

    def applies(self, device: str, decoder: bool, model: Callable[[], Any], name: str) -> bool:
        """Whether batches are packed; enables packing on ``model()`` (loaded only when it
        might pack) and refuses ``pack=true`` or ``share_prompts=true`` on a model that
        cannot be packed (``name`` is the model named in that sentence)."""
        forced = self.pack is True or self.share_prompts
        if not (forced or (self.pack == "auto" and device == "cpu")):
            return False
        why = "an encoder classifier" if not decoder else None
        why = why or packing.unsupported_reason(model())
        if why is None:
            packing.enable(model())
        elif forced:
            flags = "pack=true" if self.pack is True else "share_prompts=true"
            raise RmevalError(f"--model-args {flags}: {name} cannot be packed ({why}).")
        return why is None


@dataclass(frozen=True)
class Padding:
    """How padded batches are laid out."""

    pad_id: int
    """Token id of padding: the tokenizer's pad token, else its end-of-sequence token, else 0."""
    type_id: int
    """``token_type_ids`` value of padding."""
    side: str
    """``left`` or ``right``."""
    positions: bool
    """Whether position ids are passed (decoders), so padding moves no real token."""

    @classmethod
    def of(cls, tokenizer: Any, decoder: bool, padding_side: str) -> Padding:
        """``padding_side`` for decoders (positions are passed, so either side scores the
        same); an encoder pads where its tokenizer does, as it was trained (XLNet pools the
        last position and pads left, BERT-style models number positions from the left)."""
        pad_id = tokenizer.pad_token_id
        pad_id = pad_id if pad_id is not None else (tokenizer.eos_token_id or 0)
        own = "left" if getattr(tokenizer, "padding_side", "right") == "left" else "right"
        type_id = int(getattr(tokenizer, "pad_token_type_id", 0) or 0)
        return cls(pad_id, type_id, padding_side if decoder else own, decoder)

    def collate(self, batch: Sequence[Encoded], device: str) -> dict[str, Any]:
        """Padded ``input_ids``, ``attention_mask`` (and ``token_type_ids``, ``position_ids``
        where they apply) of ``batch`` on ``device``."""
        import torch

        width = max(e.n_tokens for e in batch)
        names = ["input_ids", "attention_mask"]
        names += ["token_type_ids"] if "token_type_ids" in batch[0].payload else []
        fills = {"input_ids": self.pad_id, "attention_mask": 0, "token_type_ids": self.type_id}
        cols: dict[str, list[list[int]]] = {name: [] for name in names}
        for e in batch:
            gap = width - e.n_tokens
            for name in names:
                vals = [1] * e.n_tokens if name == "attention_mask" else e.payload[name]
                pad = [fills[name]] * gap
                cols[name].append(vals + pad if self.side == "right" else pad + vals)
        tensors = {k: torch.tensor(v, device=device) for k, v in cols.items()}
        if self.positions:
            tensors["position_ids"] = (tensors["attention_mask"].cumsum(-1) - 1).clamp(min=0)
        if "messages" in batch[0].payload:  # a model that scores conversations itself
            tensors["conversations"] = [e.payload["messages"] for e in batch]
        return tensors


def _widths(config: Any) -> tuple[int, int]:
    """Hidden and intermediate (MLP) width of a config, across naming conventions."""
    hidden = int(getattr(config, "hidden_size", 0) or getattr(config, "n_embd", 1024))
    inter = int(
        getattr(config, "intermediate_size", 0) or getattr(config, "n_inner", 0) or 4 * hidden
    )
    return hidden, inter


def cpu_batch_tokens(config: Any, dtype: str, activation_bytes: int) -> int:
    """A power of two (1,024 to 16,384) that keeps the widest activation (tokens ×
    intermediate size) within ``activation_bytes``."""
    hidden, inter = _widths(config)
    width = 2 if dtype != "float32" else 4
    fits = activation_bytes // (width * max(hidden, inter))
    return 1 << max(10, min(14, fits.bit_length() - 1))


def cuda_batch_tokens(config: Any, dtype: str, device: str, max_length: int) -> int:
    """A power of two (1,024 to 1,048,576): half the free memory of ``device`` (weights
    already loaded) over an activation estimate per token."""
    import torch

    hidden, inter = _widths(config)
    width = 2 if dtype != "float32" else 4
    free, _total = torch.cuda.mem_get_info(device)
    per_token = width * (4 * hidden + 3 * inter) + 4 * max_length  # + mask row
    return 1 << max(10, min(20, int(free * 0.5 // per_token).bit_length() - 1))
