"""Reward models already in memory: a transformers model plus tokenizer, or a plain callable.

Neither has a checkpoint on disk, so neither can be fingerprinted by file hashes:

- :class:`InMemoryRewardModel` is fingerprinted by a sha256 of its parameters, config and
  tokenizer, so scores cached before a training step never answer for the weights after it.
  It scores exactly as ``hf:`` does on the same weights saved to disk (it is ``hf``'s adapter
  with the objects given instead of loaded).
- :class:`CallableRewardModel` wraps ``list[ScoreRequest] -> list[float]``; it has no identity
  beyond the name it is given, so :mod:`rmeval.harness.api` never caches its scores on disk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from rmeval.harness.adapters.base import Encoded, RewardModel
from rmeval.harness.adapters.hf import HFRewardModel
from rmeval.harness.adapters.pretrained import Checkpoint, chat_template_text
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import Score, ScoreRequest, sha256_text

_LOADING_ARGS = (
    "revision",
    "subfolder",
    "tokenizer",
    "attn_implementation",
    "quantization_config",
    "load_in_8bit",
    "load_in_4bit",
    "device_map",
    "trust_remote_code",
    "allow_unsafe_weights",
)


def parameters_sha256(model: Any) -> str:
    """sha256 over every tensor of ``model.state_dict()`` (names, dtypes, shapes, bytes)."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def tokenizer_sha256(tokenizer: Any) -> str:
    """sha256 of a tokenizer's full definition (fast tokenizers) or its vocabulary."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    text = backend.to_str() if backend is not None else repr(sorted(tokenizer.get_vocab().items()))
    special = repr(sorted(tokenizer.special_tokens_map.items()))
    return sha256_text(text + special + str(getattr(tokenizer, "chat_template", None)))


class InMemoryRewardModel(HFRewardModel):
    """A transformers sequence classifier and its tokenizer given as objects (no save to disk)."""

    type_name = "memory"

    def __init__(self, model: Any, tokenizer: Any, name: str | None = None, **args: Any) -> None:
        given = sorted(set(args) & set(_LOADING_ARGS))
        if given:
            raise RmevalError(
                f"model_args {', '.join(given)}: these load a checkpoint; an in-memory model is "
                f"used as given (pass a spec string such as 'hf:./rm' to load one)."
            )
        param = next(iter(model.parameters()))
        args.setdefault("device", str(param.device))
        args.setdefault("dtype", str(param.dtype).removeprefix("torch."))
        name = name or str(getattr(model.config, "_name_or_path", "") or "model")
        super().__init__(name, **args)
        self._given_model, self._given_tokenizer = model, tokenizer
        self._model = model

    def locate(self, model_id: str) -> Checkpoint:
        """No files: the objects are the checkpoint (fingerprinted by content on first use)."""
        return Checkpoint(
            model_id,
            revision=None,
            subfolder=None,
            safety={"allow_unsafe_weights": False, "trust_remote_code": False},
            weights={},
            provenance={"id": model_id, "revision": None},
            chat_template=chat_template_text(self.argument("chat_template")),
        )

    @property
    def tokenizer(self) -> Any:  # type: ignore[override]
        if self.checkpoint.chat_template is not None:
            self._given_tokenizer.chat_template = self.checkpoint.chat_template
        return self._given_tokenizer

    @property
    def config(self) -> Any:  # type: ignore[override]
        return self._given_model.config

    @property
    def model(self) -> Any:  # type: ignore[override]
        return self._given_model

    def fingerprint_fields(self) -> dict[str, Any]:
        if "weights_sha256" not in self.checkpoint.provenance:  # once per adapter (one call)
            content = {
                "weights_sha256": parameters_sha256(self._given_model),
                "config_sha256": sha256_text(self._given_model.config.to_json_string()),
                "tokenizer_sha256": tokenizer_sha256(self._given_tokenizer),
            }
            self.checkpoint = replace(
                self.checkpoint, provenance=self.checkpoint.provenance | content
            )
        return super().fingerprint_fields()

    @contextmanager
    def scoring(self) -> Iterator[None]:
        """Eval mode while scoring (dropout off, as ``hf`` loads), then the model's own
        mode and attention implementation again, so a training loop continues unchanged."""
        model = self._given_model
        training, attention = model.training, model.config._attn_implementation
        model.eval()
        try:
            yield
        finally:
            if model.config._attn_implementation != attention:
                model.set_attn_implementation(attention)
            model.train(training)


class CallableRewardModel(RewardModel):
    """A function ``list[ScoreRequest] -> list[float]`` as a reward model (one call per pass)."""

    type_name = "callable"
    default_batch_tokens = 1 << 30

    def __init__(self, fn: Callable[[list[ScoreRequest]], Sequence[Any]], name: str | None = None):
        super().__init__(name or getattr(fn, "__name__", "") or "fn")
        self.fn = fn

    def fingerprint_fields(self) -> dict[str, Any]:
        return {"name": self.model_id}

    def encode(self, requests: Sequence[ScoreRequest]) -> list[Encoded]:
        return [Encoded(1, r) for r in requests]

    def forward(self, batch: Sequence[Encoded]) -> list[Score]:
        values = list(self.fn([e.payload for e in batch]))
        if len(values) != len(batch):
            raise RmevalError(
                f"the callable {self.model_id} returned {len(values)} scores for {len(batch)} "
                f"requests; return one float per request, in order."
            )
        return [_as_score(v, self.model_id) for v in values]


def _as_score(value: Any, name: str) -> Score:
    if isinstance(value, Score):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RmevalError(
            f"the callable {name} returned {value!r}, not a number; return one float per request."
        ) from None
    return Score(number, n_tokens=0)
