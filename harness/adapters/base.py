"""The model-adapter contract: fingerprint, encode once, forward a batch."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from harness.errors import RmevalError
from harness.records import Score, ScoreRequest, canonical_json, sha256_text


@dataclass(slots=True)
class Encoded:
    """A request after templating and tokenisation (done once, before batching)."""

    n_tokens: int
    """Length that drives sorting and the token budget."""
    payload: Any = None
    """Adapter-specific (token ids, texts, ...)."""
    truncated: bool = False


class RewardModel(ABC):
    """A reward model behind a spec ``TYPE:ID`` plus ``--model-args``.

    Construction must be cheap (no weights loaded): ``rmeval score`` needs the fingerprint only.
    Subclasses load weights lazily on the first ``encode``/``forward``.
    """

    type_name: ClassVar[str] = ""
    adapter_version: ClassVar[str] = "1"
    default_batch_tokens: ClassVar[int] = 8192
    """Token budget per batch when ``--batch-tokens`` is not given (``auto``)."""
    encode_in_worker: ClassVar[bool] = False
    """True when ``encode`` may run in a worker thread while ``forward`` runs (forward never
    touches the tokenizer): the scorer then tokenises the next chunk while one is scored."""
    score_kind: ClassVar[str] = "reward"
    """``reward`` (an unbounded scalar) or ``probability`` (a judge's P(YES) in [0, 1])."""

    def __init__(self, model_id: str = "", **args: Any) -> None:
        self.model_id = model_id
        self.args = args

    @property
    def spec(self) -> str:
        return f"{self.type_name}:{self.model_id}" if self.model_id else self.type_name

    @abstractmethod
    def fingerprint_fields(self) -> dict[str, Any]:
        """Everything that changes the outputs (never batch size or device)."""

    def fingerprint(self) -> str:
        """Stable hash of the fingerprint fields, the adapter type and its version."""
        fields = {"type": self.type_name, "adapter_version": self.adapter_version}
        return sha256_text(canonical_json(fields | self.fingerprint_fields()))

    def describe(self) -> dict[str, Any]:
        """The ``model`` block of a result file."""
        fields = self.fingerprint_fields()
        return {
            "spec": self.spec,
            "type": self.type_name,
            "fingerprint": self.fingerprint(),
            "revision": fields.get("revision"),
            "dtype": fields.get("dtype"),
            "max_length": fields.get("max_length"),
            "chat_template_sha256": fields.get("chat_template_sha256"),
            "n_parameters": self.n_parameters(),
            "args": {k: v for k, v in self.args.items()},
        }

    def n_parameters(self) -> int | None:
        """Parameter count when known without loading weights (None otherwise)."""
        return None

    @abstractmethod
    def encode(self, requests: Sequence[ScoreRequest]) -> list[Encoded]:
        """Template and tokenise each request once."""

    def plan(self, encoded: Sequence[Encoded], budget: int, keys: Sequence[str]) -> list[list[int]]:
        """Batches of indices into ``encoded``; by default length-sorted token-budget batches.

        Must be a pure function of its inputs: a resumed run relies on the same plan."""
        from harness.batching import plan_batches

        return plan_batches([e.n_tokens for e in encoded], budget, tiebreak=keys)

    @abstractmethod
    def forward(self, batch: Sequence[Encoded]) -> list[Score]:
        """Score one batch of encoded requests, in the batch's order."""

    def hidden_states(
        self, requests: Sequence[ScoreRequest], layers: Sequence[int] | None = None
    ) -> dict[int, Any]:
        """Feature vectors per layer for probes; adapters without the capability refuse."""
        raise RmevalError(
            f"model type '{self.type_name}' has no hidden states; probe tasks need an 'hf' "
            f"or 'embed' model."
        )


def parse_model_args(text: str | None) -> dict[str, Any]:
    """``k=v,k2=v2`` into a dict; ``true/false/none`` and numbers are converted."""
    out: dict[str, Any] = {}
    if not text:
        return out
    for part in text.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise RmevalError(
                f"--model-args: '{part}' is not key=value; write e.g. revision=abc123."
            )
        key, value = part.split("=", 1)
        out[key.strip()] = _convert(value.strip())
    return out


def _convert(value: str) -> Any:
    low = value.lower()
    if low in {"true", "false"}:
        return low == "true"
    if low in {"none", "null"}:
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def split_spec(spec: str) -> tuple[str, str]:
    """``TYPE:ID`` into (type, id); a bare id means ``hf``, a bare registered type has no id."""
    if ":" in spec:
        kind, _, ident = spec.partition(":")
        if kind and "/" not in kind and kind not in {".", ".."} and not kind.startswith("."):
            return kind, ident
    return "hf", spec
