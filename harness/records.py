"""Typed records that flow between the stages: examples, score requests, scores, results."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any


def sha256_text(text: str) -> str:
    """Hex sha256 of a UTF-8 string."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: the form that is hashed."""
    if _ENCODE is not None:
        try:
            return "".join(_ENCODE(obj, 0))
        except RecursionError:  # circular or too deep: json.dumps raises its own error
            pass
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _canonical_encoder() -> Any:
    """``json.dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":"))``'s C encoder,
    built once (``json.dumps`` builds one per call); without the circular-reference check,
    whose failure is a RecursionError here and json.dumps' own error on the fallback."""
    from json.encoder import c_make_encoder, encode_basestring

    if c_make_encoder is None:
        return None
    default = json.JSONEncoder().default
    return c_make_encoder(None, default, encode_basestring, None, ":", ",", True, False, True)


_ENCODE = _canonical_encoder()
_encode_text = json.encoder.encode_basestring
"""A string as a JSON string literal (``ensure_ascii=False``), as ``canonical_json`` writes it."""
_sha256 = hashlib.sha256


Turn = tuple[str, str]
"""One chat turn: ``(role, content)``."""


@dataclass(frozen=True, slots=True)
class Example:
    """One evaluation item as a task yields it."""

    id: str
    """Stable id, unique within the task."""
    subset: str
    """Subset name used for the per-subset breakdown."""
    prompt: str
    """The user prompt (the conversation so far)."""
    candidates: tuple[str, ...]
    """Responses in data order: the ``n_chosen`` preferred ones first, then the rejected ones."""
    n_chosen: int = 1
    """How many leading candidates are the preferred ones."""
    reference: str | None = None
    """Reference answer, for judges and likelihood rewards; None when the data has none."""
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    """Task-specific labels (e.g. a probe class or a domain)."""
    context: tuple[Turn, ...] = ()
    """Earlier turns of a multi-turn conversation, ``(role, content)`` before ``prompt``."""


@dataclass(frozen=True, slots=True)
class ScoreRequest:
    """One text to score: a response to a prompt (and an optional reference)."""

    prompt: str
    """The last user turn."""
    response: str
    reference: str | None = None
    context: tuple[Turn, ...] = ()
    """Earlier turns of a multi-turn conversation, ``(role, content)`` before ``prompt``."""
    steps: tuple[str, ...] = ()
    """The response as reasoning steps, in order, for step-scoring models (empty: one score
    for the whole response). Each step is a substring of ``response``, in order."""
    _key: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def key(self) -> str:
        """Content hash: identical requests from different tasks share one cache entry.

        Computed on first use and kept (the request is immutable): the scoring loop, the task
        and the result files all ask for it."""
        key = self._key
        if key is None:
            prompt, response, reference = self.prompt, self.response, self.reference
            if (
                type(prompt) is str
                and type(response) is str
                and (reference is None or type(reference) is str)
                and not self.context
                and not self.steps
            ):  # the common single-turn request: canonical_json's output written directly
                ref = "null" if reference is None else _encode_text(reference)
                text = f"[{_encode_text(prompt)},{_encode_text(response)},{ref}]"
            else:
                text = canonical_json(self._key_parts())
            key = _sha256(text.encode("utf-8")).hexdigest()  # sha256_text, inlined
            object.__setattr__(self, "_key", key)
        return key

    def _key_parts(self) -> list[Any]:
        """What ``key`` hashes, as a JSON value."""
        parts: list[Any] = [self.prompt, self.response, self.reference]
        if self.context or self.steps:  # single-turn keys stay as they were before
            parts.append([list(turn) for turn in self.context])
        if self.steps:
            parts.append({"steps": list(self.steps)})
        return parts

    @property
    def prompt_text(self) -> str:
        """The prompt as one text, for models without a chat template: the prompt itself, or
        every turn of a multi-turn conversation as a ``Role: content`` block."""
        if not self.context:
            return self.prompt
        turns = (*self.context, ("user", self.prompt))
        return "\n\n".join(f"{role.capitalize()}: {content}" for role, content in turns)

    def messages(self, response: bool = True) -> list[dict[str, str]]:
        """The conversation as chat messages: earlier turns, the prompt as the user turn, and
        (unless ``response=False``) the response as the assistant turn."""
        turns = [*self.context, ("user", self.prompt)]
        if response:
            turns.append(("assistant", self.response))
        return [{"role": role, "content": content} for role, content in turns]


@dataclass(frozen=True, slots=True)
class Score:
    """A model's output for one request."""

    value: float
    """The scalar reward (NaN or inf are kept and counted as invalid later)."""
    n_tokens: int = 0
    """Real (non-pad) tokens the model read."""
    truncated: bool = False
    """True when the input was longer than the max length and was cut."""
    attributes: dict[str, float] | None = None
    """Per-attribute rewards of a multi-objective head, by attribute name."""
    steps: tuple[float, ...] | None = None
    """One score per step of a step request (a process reward model); ``value`` is then the
    last step's score. None for a scalar score."""

    def to_json(self) -> str:
        """Cache encoding; non-finite floats become strings so the JSON stays strict."""
        v, n, t = self.value, self.n_tokens, self.truncated
        if (
            self.attributes is None
            and self.steps is None
            and type(v) is float
            and type(n) is int
            and type(t) is bool
            and math.isfinite(v)
        ):  # the common scalar entry, formatted as json.dumps formats it (float.__repr__)
            return f'{{"v": {float.__repr__(v)}, "n": {n}, "t": {_JSON_BOOL[t]}, "a": null}}'
        d: dict[str, Any] = {
            "v": _encode_float(self.value),
            "n": self.n_tokens,
            "t": self.truncated,
            "a": None
            if self.attributes is None
            else {k: _encode_float(v) for k, v in self.attributes.items()},
        }
        if self.steps is not None:  # scalar entries stay byte-identical to earlier caches
            d["s"] = [_encode_float(v) for v in self.steps]
        return json.dumps(d, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Score:
        """Inverse of :meth:`to_json`; ValueError when ``text`` is not such an encoding."""
        scalar = _SCALAR_ENTRY(text) if type(text) is str and cls is Score else None
        if scalar is not None:
            return _scalar_score(*scalar.groups())
        try:
            d = json.loads(text)
            attrs = d.get("a")
            return cls(
                value=_decode_float(d["v"]),
                n_tokens=int(d.get("n", 0)),
                truncated=bool(d.get("t", False)),
                attributes=None
                if attrs is None
                else {str(k): _decode_float(v) for k, v in attrs.items()},
                steps=None if d.get("s") is None else tuple(_decode_float(v) for v in d["s"]),
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"{type(exc).__name__}: {exc}") from None


_JSON_BOOL = {True: "true", False: "false"}
_NUMBER_WITH_POINT = (
    r"-?(?:0|[1-9][0-9]{0,24})(?:\.[0-9]{1,40}(?:[eE][-+]?[0-9]{1,4})?|[eE][-+]?[0-9]{1,4})"
)
_SCALAR_ENTRY = re.compile(
    r'\{"v": (' + _NUMBER_WITH_POINT + r'), "n": (0|[1-9][0-9]{0,17}), "t": (true|false), '
    r'"a": null\}'
).fullmatch
"""A scalar entry exactly as ``to_json`` writes it. Only numbers with a point or an exponent
match: json.loads turns those into ``float(text)`` (an integer like ``-0`` would go through
``int``), so the fast decode gives what json.loads gives; anything else takes that path."""
_SCORE_FIELDS = ("value", "n_tokens", "truncated", "attributes", "steps")
if set(Score.__slots__) != set(_SCORE_FIELDS):  # type: ignore[attr-defined]
    raise TypeError("Score has a field that _scalar_score does not set")
_SCORE_SLOTS = tuple(Score.__dict__[f].__set__ for f in _SCORE_FIELDS)


def _scalar_score(value: str, n_tokens: str, truncated: str) -> Score:
    """A scalar Score from the fields of a matched cache entry, set through the slots: the
    frozen dataclass's ``__init__`` costs about as much as the parsing."""
    score = object.__new__(Score)
    set_value, set_n, set_t, set_attributes, set_steps = _SCORE_SLOTS
    set_value(score, float(value))
    set_n(score, int(n_tokens))
    set_t(score, truncated == "true")
    set_attributes(score, None)
    set_steps(score, None)
    return score


def _encode_float(x: float) -> float | str:
    return x if math.isfinite(x) else repr(float(x))


def _decode_float(x: float | str) -> float:
    return float(x)


@dataclass(slots=True)
class ExampleResult:
    """The evaluation of one example from its scores (what a samples line holds)."""

    id: str
    subset: str
    scores: list[float]
    """Candidate scores in data order (chosen first)."""
    credit: float | None
    """Contribution to the main score; None when the example is invalid (excluded)."""
    tie: bool = False
    """The decision involved a tie (counted, never silent)."""
    invalid: bool = False
    """A score was NaN or infinite: excluded from metrics and counted."""
    truncated: bool = False
    """At least one candidate was cut to the max length."""
    text_hashes: list[str] = field(default_factory=list)
    """Cache keys of the candidate requests."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Task-specific per-example values (e.g. per-attribute scores)."""

    def to_dict(self) -> dict[str, Any]:
        """Samples-file line (strict JSON: non-finite scores become null)."""
        d = {
            "id": self.id,
            "subset": self.subset,
            "scores": [v if math.isfinite(v) else None for v in self.scores],
            "credit": self.credit,
            "tie": self.tie,
            "invalid": self.invalid,
            "truncated": self.truncated,
            "text_hashes": self.text_hashes,
        }
        d.update(self.extra)
        return d


@dataclass(slots=True)
class MetricValue:
    """An aggregated metric with its bootstrap 95% CI and sample count."""

    value: float | None
    ci95: tuple[float, float] | None
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "ci95": list(self.ci95) if self.ci95 else None, "n": self.n}


@dataclass(slots=True)
class Aggregate:
    """What ``Task.aggregate`` returns: main and secondary metrics, subsets, counts."""

    metrics: dict[str, MetricValue]
    by_subset: dict[str, dict[str, dict[str, Any]]]
    counts: dict[str, int]
    tables: dict[str, Any] = field(default_factory=dict)
    """Task-specific tables (sections, grids, matrices): the result file's ``tables`` block."""
