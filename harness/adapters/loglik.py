"""Reward models scored through lm-eval's model API: shared loading, tokenising and requests.

Every adapter here (``dpo``, ``likelihood``, ``judge``) turns a request into one or more
``(context, continuation)`` pairs and asks an lm-eval language model for
``loglikelihood`` (``lm_eval.api.registry.get_model(backend)``, ``Instance`` requests). lm-eval
does its own length sorting and batching inside one call; the harness hands it one token-budget
batch at a time.

Backends: ``backend=hf`` (default; ``HFLM``) is what the tests use. ``backend=vllm`` passes the
same arguments to ``get_model("vllm")`` where vLLM is installed (untested here). A
``--model-args`` key that neither this module nor the adapter declares must be an argument the
backend's constructor names (e.g. ``add_bos_token=true``): it goes there verbatim and into the
fingerprint; any other key is refused with a did-you-mean.

Which tokens are scored: exactly the continuation's (response, reference or answer word), the
boundary found by tokenising the context and context + continuation with the same tokenizer
call; ``lm_eval_compat=true`` keeps lm-eval's whitespace convention instead (see
:mod:`~rmeval.harness.adapters.loglik_tokens`). Scores come from lm-eval's
``_loglikelihood_tokens`` on those ids.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from rmeval.harness.adapters import hub
from rmeval.harness.adapters.base import (
    Arg,
    RewardModel,
    parse_auto_bool,
    parse_bool,
    parse_int,
    parse_text,
)
from rmeval.harness.adapters.loglik_tokens import (
    Split,
    exact_ids,
    hf_token_logprobs,
    is_causal_hflm,
    lm_eval_ids,
    per_token_requests,
    token_requests,
)
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import ScoreRequest

COMMON_KEYS = frozenset(
    {
        "backend",
        "device",
        "batch_size",
        "dtype",
        "max_length",
        "revision",
        "trust_remote_code",
        "allow_unsafe_weights",
        "chat_template",
        "lm_eval_compat",
    }
)
"""``--model-args`` every lm-eval adapter understands; the rest goes to the lm-eval model."""

WEIGHT_EDIT_KEYS = ("peft", "delta")
"""lm-eval ``hf`` arguments that change the loaded weights (a PEFT adapter, delta weights):
they belong to the model they were given for, never to a reference loaded alongside it, and
a local folder among them is fingerprinted by its files' contents."""


@dataclass(frozen=True)
class LMSettings:
    """Backend settings shared by the lm-eval models one adapter loads."""

    backend: str = "hf"
    device: str | None = None
    batch_size: int | str = 64
    dtype: str | None = None
    max_length: int | None = None
    revision: str | None = None
    trust_remote_code: bool = False
    allow_unsafe_weights: bool = False
    chat_template: str = "auto"
    lm_eval_compat: bool = False
    """Score lm-eval's continuation tokens (trailing context whitespace moved into them)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Other ``--model-args``, passed verbatim to the lm-eval model constructor."""

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> LMSettings:
        """Settings from the common keys of ``args``; ``extra`` gets the remaining ones."""
        common = {k: v for k, v in args.items() if k in COMMON_KEYS and v is not None}
        extra = {k: v for k, v in args.items() if k not in COMMON_KEYS}
        mode = str(common.pop("chat_template", "auto")).lower()
        if mode not in {"auto", "true", "false"}:
            raise RmevalError(f"--model-args chat_template={mode}: use auto, true or false.")
        return cls(chat_template=mode, extra=extra, **common)

    @cached_property
    def resolved_device(self) -> str:
        return hub.resolve_device(self.device)

    @cached_property
    def resolved_dtype(self) -> str:
        return hub.resolve_dtype(self.dtype, self.resolved_device)

    def fingerprint_fields(self) -> dict[str, Any]:
        """What changes outputs (not device or batch size)."""
        return {
            "backend": self.backend,
            "lm_args": {
                "dtype": self.resolved_dtype,
                "max_length": self.max_length,
                "trust_remote_code": self.trust_remote_code,
                **self.extra,
                **{
                    k: _weights_fingerprint(self.extra[k])
                    for k in WEIGHT_EDIT_KEYS
                    if k in self.extra
                },
            },
            "chat_template": self.chat_template,
            "token_rule": "lm-eval" if self.lm_eval_compat else "exact",
        }

    def without_weight_edits(self) -> LMSettings:
        """These settings minus ``peft``/``delta`` (for a reference model loaded next to the
        policy those were given for)."""
        from dataclasses import replace

        extra = {k: v for k, v in self.extra.items() if k not in WEIGHT_EDIT_KEYS}
        return replace(self, extra=extra)


def _weights_fingerprint(value: Any) -> Any:
    """A ``peft``/``delta`` value for the fingerprint: a local folder's file hashes (so an
    adapter retrained in place changes it), else the value itself (a hub id)."""
    text = str(value)
    folder = Path(text).expanduser()
    if hub.is_local(text) and folder.is_dir():
        return {"files": hub.folder_hashes(folder)}
    return value


class LMEvalModel:
    """One lm-eval language model behind a model id, loaded on first use."""

    def __init__(self, model_id: str, settings: LMSettings) -> None:
        self.model_id = model_id
        self.settings = settings

    @cached_property
    def provenance(self) -> dict[str, Any]:
        """File hashes of a local folder, or hub id and revision (also checks safety)."""
        s = self.settings
        return hub.provenance(
            self.model_id,
            s.revision,
            allow_unsafe_weights=s.allow_unsafe_weights,
            trust_remote_code=s.trust_remote_code,
        )

    def fingerprint_fields(self) -> dict[str, Any]:
        return {
            "model": self.provenance,
            "chat_template_sha256": local_chat_template_sha(self.model_id),
        }

    @cached_property
    def lm(self) -> Any:
        """The lm-eval model (``get_model(backend)(pretrained=..., ...)``)."""
        self.provenance  # noqa: B018 -- refuse unsafe folders before loading anything
        s = self.settings
        kwargs: dict[str, Any] = {
            "pretrained": self.model_id,
            "device": s.resolved_device,
            "batch_size": s.batch_size,
            "dtype": s.resolved_dtype,
            "trust_remote_code": s.trust_remote_code,
            **s.extra,
        }
        if s.max_length is not None:
            kwargs["max_length"] = int(s.max_length)
        revision = self.provenance["revision"] or s.revision  # the commit fingerprinted
        if revision is not None:
            kwargs["revision"] = revision
        if s.backend == "hf" and not s.allow_unsafe_weights:
            kwargs["use_safetensors"] = True
        cls = backend_class(s.backend)
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise RmevalError(f"--model-args for lm-eval backend '{s.backend}': {exc}.") from exc
        except OSError as exc:
            raise hub.hub_error(self.model_id, exc) from exc

    @property
    def max_length(self) -> int:
        return int(self.lm.max_length)

    def has_chat_template(self) -> bool:
        """Whether prompts get the tokenizer's chat template (``chat_template=auto|true|false``)."""
        mode = self.settings.chat_template
        present = bool(getattr(self.lm.tokenizer, "chat_template", None))
        if mode == "true" and not present:
            raise RmevalError(
                f"{self.model_id}: chat_template=true but its tokenizer has no chat template; "
                f"use chat_template=auto or false."
            )
        return present and mode != "false"

    def user_turn(self, text: str) -> str | None:
        """``text`` as a user turn plus the generation prompt; None without a chat template."""
        return self.chat_context(ScoreRequest(text, ""))

    def chat_context(self, request: ScoreRequest) -> str | None:
        """The request's conversation up to its response (earlier turns, the prompt as the
        user turn, the generation prompt); None without a chat template."""
        if not self.has_chat_template():
            return None
        return self.lm.tokenizer.apply_chat_template(
            request.messages(response=False), tokenize=False, add_generation_prompt=True
        )

    def text_context(self, request: ScoreRequest) -> str:
        """What the model reads before the response: :meth:`chat_context`, else the prompt
        text and a newline."""
        turn = self.chat_context(request)
        return turn if turn is not None else request.prompt_text + "\n"

    def split(self, context: str, continuation: str) -> Split:
        """The tokens of a pair: exactly the continuation's (context rendered by the chat
        template, if any, gets no added special tokens), or lm-eval's with ``lm_eval_compat``."""
        lm = self.lm
        if self.settings.lm_eval_compat:
            ctx, cont = lm_eval_ids(lm, context, continuation)
        else:
            bos = parse_bool(self.settings.extra.get("add_bos_token", True), "add_bos_token")
            special = bos and not self.has_chat_template()
            ctx, cont = exact_ids(lm.tokenizer, context, continuation, special, lm.prefix_token_id)
        return Split(context, continuation, tuple(ctx), tuple(cont), self.max_length)

    def loglikelihood(self, splits: Sequence[Split]) -> list[float]:
        """Σ log P(continuation | context) per pair over exactly the split's token ids, all in
        one ``lm._loglikelihood_tokens`` call.

        An empty continuation scores 0.0 (an empty sum); one longer than the window is NaN.
        """
        out = [0.0 if not s.continuation_ids else math.nan for s in splits]
        todo = [i for i, s in enumerate(splits) if s.scorable]
        if todo:
            requests = token_requests([splits[i] for i in todo])
            results = self.lm._loglikelihood_tokens(requests, disable_tqdm=True)
            for i, (logprob, _greedy) in zip(todo, results, strict=True):
                out[i] = float(logprob)
        return out

    def token_logprobs(
        self, splits: Sequence[Split], fast: bool | None = None
    ) -> list[list[float]]:
        """Per-token log-probabilities of each continuation (empty list when unscorable).

        ``loglikelihood`` returns sums only. With the ``hf`` backend one forward pass per pair
        gives every token's value (same window and right padding as lm-eval); other backends
        get one single-token request per continuation token through lm-eval's
        ``_loglikelihood_tokens`` (exact, but a request per token). ``fast`` forces a route.
        """
        todo = [s for s in splits if s.scorable]
        use_fast = is_causal_hflm(self.lm) if fast is None else fast
        values = hf_token_logprobs(self.lm, todo) if use_fast else per_token_requests(self.lm, todo)
        found = iter(values)
        return [next(found) if s.scorable else [] for s in splits]


def spaced(context: str, text: str) -> str:
    """``text`` as a continuation of ``context``: a word-boundary space in front unless either
    side already has whitespace there (lm-eval's convention for continuations)."""
    if not context or context[-1].isspace() or text[:1].isspace():
        return text
    return " " + text


def backend_class(backend: str) -> type:
    """The lm-eval model class registered as ``backend`` (one sentence when missing)."""
    from lm_eval.api.registry import get_model

    try:
        return get_model(backend)
    except ImportError as exc:
        raise RmevalError(
            f"--model-args backend={backend}: lm-eval could not import it ({exc}); install it "
            f"(e.g. `pip install vllm`) or use backend=hf."
        ) from exc
    except ValueError as exc:
        raise RmevalError(f"--model-args backend={backend}: not an lm-eval model name.") from exc


def local_chat_template_sha(model_id: str) -> str | None:
    """sha256 of a local folder's chat template (tokenizer_config.json or chat_template.jinja)."""
    import json

    if not hub.is_local(model_id):
        return None
    folder = Path(model_id).expanduser()
    jinja = folder / "chat_template.jinja"
    if jinja.is_file():
        return hub.sha256_or_none(jinja.read_text(encoding="utf-8"))
    config = folder / "tokenizer_config.json"
    if config.is_file():
        template = json.loads(config.read_text(encoding="utf-8")).get("chat_template")
        return hub.sha256_or_none(template if isinstance(template, str) else json.dumps(template))
    return None


class LMEvalRewardModel(RewardModel):
    """Base for adapters that score through lm-eval; subclasses name their own arguments."""

    own_keys: ClassVar[frozenset[str]] = frozenset()
    """``--model-args`` the subclass consumes (kept out of the lm-eval constructor)."""
    path_keys: ClassVar[frozenset[str]] = frozenset()
    """Own keys that name files or models: fingerprinted by content, not by path."""
    shown_labels: ClassVar[tuple[str, ...]] = ("response",)
    """Names of the pairs in an encoded request, for ``rmeval show``."""
    default_batch_tokens = 4096
    arguments = {
        "backend": Arg("lm-eval model name: hf or vllm", default="hf"),
        "revision": Arg("hub branch, tag or commit to load", parse=parse_text),
        "dtype": Arg("float32, bfloat16, float16 or auto"),
        "max_length": Arg("context window (tokens) lm-eval keeps", parse=parse_int),
        "chat_template": Arg(
            "prompts as a chat turn: auto (if the tokenizer has a template), true or false",
            default="auto",
            parse=parse_auto_bool,
        ),
        "lm_eval_compat": Arg(
            "score lm-eval's continuation tokens (context's trailing whitespace included)",
            default=False,
            parse=parse_bool,
        ),
        "attn_implementation": Arg("eager, sdpa or flash_attention_2 (from_pretrained)"),
        "device": Arg("cpu, cuda, cuda:1, mps or auto", output=False),
        "batch_size": Arg("lm-eval batch size (a number or auto)", default=64, output=False),
        "trust_remote_code": Arg(
            "allow the checkpoint's custom code", default=False, output=False, parse=parse_bool
        ),
        "allow_unsafe_weights": Arg(
            "allow pickled .bin weights", default=False, output=False, parse=parse_bool
        ),
    }

    @classmethod
    def extra_argument_names(cls, args: Any) -> set[str]:
        """The lm-eval backend's own constructor arguments (passed through verbatim)."""
        import inspect

        backend = backend_class(str(args.get("backend") or "hf"))
        named = inspect.signature(backend.__init__).parameters
        return set(named) - {"self", "pretrained", "args", "kwargs"}

    def __init__(self, model_id: str = "", **args: Any) -> None:
        if not model_id:
            raise RmevalError(
                f"--model {self.type_name}:MODEL needs a model folder or hub id after the colon."
            )
        super().__init__(model_id, **args)
        self.options = {k: v for k, v in self.args.items() if k in self.own_keys}
        self.settings = LMSettings.from_args(
            {k: v for k, v in self.args.items() if k not in self.own_keys}
        )
        self.main = LMEvalModel(model_id, self.settings)

    def fingerprint_fields(self) -> dict[str, Any]:
        fields = self.settings.fingerprint_fields() | self.main.fingerprint_fields()
        return fields | {
            "options": {k: v for k, v in self.options.items() if k not in self.path_keys},
            "dtype": self.settings.resolved_dtype,
            "max_length": self.settings.max_length,
            "revision": self.settings.revision,
        }

    def show(self, requests: Sequence[ScoreRequest]) -> list[list[str]]:
        """Each request's context and scored tokens (``rmeval show``)."""
        from rmeval.harness.adapters.shown import loglik_lines

        tok = self.main.lm.tokenizer
        return [loglik_lines(tok, e, self.shown_labels) for e in self.encode(requests)]

    def option(self, key: str, default: Any, allowed: Sequence[Any] | None = None) -> Any:
        """An adapter-specific ``--model-args`` value, checked against ``allowed``."""
        value = self.options.get(key, default)
        if allowed is not None and value not in allowed:
            choices = ", ".join(str(a) for a in allowed)
            raise RmevalError(f"--model-args {key}={value}: use one of {choices}.")
        return value
