"""The model-adapter contract: fingerprint, encode once, forward a batch."""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rmeval.harness.batching import plan_batches
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import Score, ScoreRequest, canonical_json, sha256_text


@dataclass(slots=True)
class Encoded:
    """A request after templating and tokenisation (done once, before batching)."""

    n_tokens: int
    """Length that drives sorting and the token budget."""
    payload: Any = None
    """Adapter-specific (token ids, texts, ...)."""
    truncated: bool = False


_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def parse_bool(value: Any, flag: str = "--model-args value") -> bool:
    """A boolean ``k=v`` value: true/false, yes/no, 1/0 or on/off; anything else is refused."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise RmevalError(f"{flag}={value}: use true or false (or yes/no, 1/0, on/off).")


def parse_auto_bool(value: Any, flag: str = "--model-args value") -> bool | str:
    """``auto``, or a boolean as :func:`parse_bool` reads it; anything else is refused."""
    if str(value).strip().lower() == "auto":
        return "auto"
    try:
        return parse_bool(value, flag)
    except RmevalError:
        raise RmevalError(f"{flag}={value}: use auto, true or false.") from None


@dataclass(frozen=True, slots=True)
class Arg:
    """One ``--model-args`` key an adapter takes."""

    help: str
    """One line for ``rmeval ls TYPE``."""
    default: Any = None
    """Value when the key is not given."""
    output: bool = True
    """Whether the value can change scores: such keys go into the fingerprint and the result
    folder name; execution choices (batch size, device, packing) do not."""
    parse: Callable[[Any, str], Any] | None = None
    """Converts a given value (e.g. :func:`parse_bool`; called with the value and the flag's
    name for the error sentence) or raises ``RmevalError``."""
    by_content: bool = False
    """Names a file or model the adapter fingerprints by content (the path itself is not)."""


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
    scores_responses: ClassVar[bool] = True
    """Whether the adapter gives one score per response (the scalar tasks need this)."""
    scores_steps: ClassVar[bool] = False
    """Whether it answers a step request (``ScoreRequest.steps``) with one score per step in
    ``Score.steps`` (see :mod:`rmeval.harness.steps`)."""

    scalar_scores: ClassVar[bool] = True
    """False for a model that gives verdicts only (a generating judge): the runner then scores
    nothing, and only tasks with a ``judge_protocol`` run it."""

    arguments: ClassVar[dict[str, Arg]]
    """``--model-args`` this class adds (merged along the MRO by :meth:`declared`). An adapter
    that declares none takes any key (and records it all as output-changing)."""

    def __init__(self, model_id: str = "", **args: Any) -> None:
        self.model_id = model_id
        self.args = self.check_arguments(args)
        """The given ``--model-args``, checked and parsed (recorded in the result file)."""

    @classmethod
    def declared(cls) -> dict[str, Arg] | None:
        """Every declared argument of this adapter, or None when it declares none."""
        found = [
            c.__dict__["arguments"] for c in reversed(cls.__mro__) if "arguments" in c.__dict__
        ]
        return {k: v for d in found for k, v in d.items()} if found else None

    @classmethod
    def extra_argument_names(cls, args: Mapping[str, Any]) -> set[str]:
        """Undeclared keys the adapter still passes on (e.g. to a backend); none by default."""
        return set()

    @classmethod
    def check_arguments(cls, args: Mapping[str, Any]) -> dict[str, Any]:
        """``args`` with declared parsers applied; an unknown key is refused with a did-you-mean."""
        decl = cls.declared()
        if decl is None:
            return dict(args)
        unknown = sorted(set(args) - set(decl))
        extra = cls.extra_argument_names(args) if unknown else set()
        unknown = sorted(set(unknown) - extra)
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(key, [*decl, *sorted(extra)], n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise RmevalError(
                f"--model-args {key}: not an argument of model type '{cls.type_name}'; {hint}"
                f"run `rmeval ls {cls.type_name}` to list them."
            )
        return {
            k: decl[k].parse(v, f"--model-args {k}")
            if k in decl and decl[k].parse and v is not None
            else v
            for k, v in args.items()
        }

    def argument(self, key: str) -> Any:
        """A declared argument's value: the given one, else its default."""
        value = self.args.get(key)
        decl = self.declared() or {}
        return decl[key].default if value is None and key in decl else value

    @classmethod
    def output_arguments(cls, args: Mapping[str, Any]) -> dict[str, Any]:
        """The given arguments that change outputs and differ from their default (the one
        decision behind both the fingerprint and the result folder name)."""
        decl = cls.declared()
        if decl is None:
            return {k: v for k, v in args.items() if k not in EXECUTION_ARGS}
        undeclared = Arg("")  # a pass-through key: may change outputs
        return {
            k: v
            for k, v in args.items()
            if decl.get(k, undeclared).output and v != decl.get(k, undeclared).default
        }

    @property
    def spec(self) -> str:
        return f"{self.type_name}:{self.model_id}" if self.model_id else self.type_name

    @abstractmethod
    def fingerprint_fields(self) -> dict[str, Any]:
        """Everything that changes the outputs (never batch size or device)."""

    def fingerprint(self) -> str:
        """Stable hash of the fingerprint fields, the adapter type and its version."""
        fields = {"type": self.type_name, "adapter_version": self.adapter_version}
        decl = self.declared() or {}
        given = {
            k: v
            for k, v in self.output_arguments(self.args).items()
            if not (k in decl and decl[k].by_content)
        }
        extra = {"args": given} if given else {}
        return sha256_text(canonical_json(fields | self.fingerprint_fields() | extra))

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
        } | {  # only adapters that format text record how (other result files stay as they were)
            k: fields[k] for k in ("text_format", "text_template_sha256") if fields.get(k)
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
        return plan_batches([e.n_tokens for e in encoded], budget, tiebreak=keys)

    @abstractmethod
    def forward(self, batch: Sequence[Encoded]) -> list[Score]:
        """Score one batch of encoded requests, in the batch's order."""

    # -- optional capabilities: the scorer calls these on every adapter ----------------------
    def auto_batch_tokens(self) -> int:
        """Token budget for ``--batch-tokens auto`` (an adapter that measures free memory
        overrides this); by default ``default_batch_tokens``."""
        return int(self.default_batch_tokens)

    def collate(self, batch: Sequence[Encoded]) -> Any:
        """Model inputs for ``batch`` (padding, host-to-device copies), prepared in a worker
        thread while earlier batches are forwarded, then given to :meth:`forward_collated`.
        None (the default) means nothing is prepared ahead: the scorer calls ``forward``."""
        return None

    def forward_collated(self, inputs: Any, batch: Sequence[Encoded]) -> list[Score]:
        """Score ``batch`` from the :meth:`collate` output ``inputs``; by default ``forward``."""
        return self.forward(batch)

    def execution(self) -> dict[str, Any]:
        """How this adapter runs, as decided so far, for the result's ``environment``: its
        ``device`` and whether it ``packing`` batches (absent or None when not applicable or
        not yet decided). Must never load a model (``rmeval score`` loads none)."""
        return {}

    def show(self, requests: Sequence[ScoreRequest]) -> list[list[str]]:
        """Lines per request saying exactly what the model receives (strings, token ids, the
        reward position) for ``rmeval show``; adapters without token inputs refuse."""
        raise RmevalError(
            f"model type '{self.type_name}' reads no token ids to show; `rmeval show` works for "
            f"hf, dpo, likelihood and judge models."
        )

    def hidden_states(
        self, requests: Sequence[ScoreRequest], layers: Sequence[int] | None = None
    ) -> dict[int, Any]:
        """Feature vectors per layer for probes; adapters without the capability refuse."""
        raise RmevalError(
            f"model type '{self.type_name}' has no hidden states; probe tasks need an 'hf' "
            f"or 'embed' model."
        )


EXECUTION_ARGS = frozenset(
    {"device", "batch_size", "trust_remote_code", "allow_unsafe_weights", "timeout", "retries"}
)
"""Keys that never change outputs, for adapters that declare no arguments."""


def parse_choice(*choices: Any) -> Callable[[Any, str], Any]:
    """A parser that accepts one of ``choices`` (compared as text) and refuses the rest."""

    def parse(value: Any, flag: str) -> Any:
        for choice in choices:
            if str(value).lower() == str(choice).lower():
                return choice
        raise RmevalError(f"{flag}={value}: use one of {', '.join(map(str, choices))}.")

    return parse


def parse_int(value: Any, flag: str) -> int:
    """A positive integer ``k=v`` value."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise RmevalError(f"{flag}={value}: use a positive integer.")


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
            number = cast(value)
        except ValueError:
            continue
        # only where the text is the number's own spelling: "0123abc"-like revisions, "007"
        # or "1e3" stay text, so that a text argument gets exactly what was typed
        return number if str(number) == value else value
    return value


def parse_text(value: Any, flag: str) -> str:
    """A text ``k=v`` value (revision, path, name): a number typed as digits stays that text."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RmevalError(f"{flag}={value}: give a text value.")
    return str(value)


def split_spec(spec: str) -> tuple[str, str]:
    """``TYPE:ID`` into (type, id); a bare id means ``hf``, a bare registered type has no id."""
    if ":" in spec:
        kind, _, ident = spec.partition(":")
        if kind and "/" not in kind and kind not in {".", ".."} and not kind.startswith("."):
            return kind, ident
    return "hf", spec
