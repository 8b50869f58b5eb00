"""Process reward models read at marker tokens: ``prm-token`` and ``prm-tag``.

``--model prm-token:FOLDER`` (the Qwen2.5-Math-PRM layout): the solution is the assistant turn
``step_1 SEP step_2 SEP ... step_n SEP`` (``separator=``, default ``<extra_0>``), rendered with
the tokenizer's chat template (else ``User: {prompt}\\n\\nAssistant: {steps}``); a token
classifier's softmax over its labels is read at each separator and the step score is the
probability of ``positive=`` (an index or a label name, default 1); ``system=`` puts a system
turn before the problem (Qwen's usage example gives one). ``head=token`` loads
``AutoModelForTokenClassification`` (TRL's PRM trainer saves these); ``head=auto`` loads
``AutoModel`` with the checkpoint's own code (``trust_remote_code=true``, as the Qwen release
needs) and reads its first output as the per-token logits. ``layout=trl`` reads a solution
as TRL's ``PRMTrainer`` wrote its training rows instead: BOS (if the tokenizer has one), the
prompt's ids, then each step's ids followed by the separator's (default a newline, any number
of tokens), each step read at its separator's last token.

``--model prm-tag:FOLDER`` (Math-Shepherd): a causal LM reads ``{prompt} {step_1} TAG\\n...
{step_n} TAG`` (``tag=``, default ``ки``); at each tag position the step score is
P(good) / (P(good) + P(bad)) of the next-token distribution (``good=+``, ``bad=-``), after the
LM's own post-head transform (Cohere ``logit_scale``, Granite ``logits_scaling``, Gemma2
``final_logit_softcapping``).

With ``layout=qwen`` separators, and tags and the good/bad tokens, must each be one token of the tokenizer, and the text
must hold exactly one marker per step (a step that contains one is refused). One forward pass
per solution reads every step; batches are padded as for ``hf`` (position ids passed). Steps
whose marker a max-length cut removed score NaN (counted invalid by the tasks).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from rmeval.harness.adapters import hf_head, hf_text
from rmeval.harness.adapters.base import Arg, Encoded, parse_choice, parse_text
from rmeval.harness.adapters.hf import HFRewardModel
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import Score, ScoreRequest

_NOT_APPLIED = frozenset({"reduce", "pack", "share_prompts", "format"})
LAYOUT_SEPARATORS = {"qwen": "<extra_0>", "trl": "\n"}


class MarkerPRM(HFRewardModel):
    """Base of PRMs whose step scores are read at one marker token per step."""

    adapter_version = "1"
    encode_in_worker = True
    scores_steps = True
    scores_responses = False
    marker_arg = ""
    """The argument naming the marker token (``separator`` or ``tag``)."""
    not_applied: frozenset[str] = _NOT_APPLIED
    """``hf`` arguments this adapter does not apply (refused, never silently ignored)."""

    @classmethod
    def declared(cls) -> dict[str, Arg] | None:
        """The ``hf`` arguments that apply (no multi-label ``reduce``, no packing) and ours."""
        found = super().declared() or {}
        return {k: v for k, v in found.items() if k not in cls.not_applied}

    @property
    def _packing(self) -> bool:  # type: ignore[override]
        return False

    def fingerprint_fields(self) -> dict[str, Any]:
        fields = super().fingerprint_fields()
        fields.pop("reduce", None)
        return fields | {"marker": self.marker_fields()}

    def marker_fields(self) -> dict[str, Any]:
        """The marker arguments (they change every score)."""
        return {}

    @property
    def text_format(self) -> hf_text.TextFormat:  # type: ignore[override]
        """The chat template when the tokenizer has one, else the ``User:/Assistant:`` wrap
        (the layouts PRMs are released with; ``format=`` does not apply)."""
        template = getattr(self.tokenizer, "chat_template", None)
        if isinstance(template, str) and template:
            return hf_text.TextFormat("chat", template)
        return hf_text.TextFormat("plain")

    def token_text(self, key: str) -> str:
        """The text of the ``key=`` argument (a marker or a good/bad token)."""
        return str(self.argument(key))

    def token_id(self, key: str) -> int:
        """The one token id of the ``key=`` argument's text; refused when it is not one token."""
        text = self.token_text(key)
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) != 1:
            raise RmevalError(
                f"--model-args {key}={text}: {self.model_id}'s tokenizer makes it {len(ids)} "
                f"tokens; give a {key} that is one token (e.g. a special token of the model)."
            )
        return int(ids[0])

    def marker_text(self, request: ScoreRequest) -> tuple[str, bool]:
        """The templated text with one marker per step, and whether special tokens are added."""
        raise NotImplementedError

    def encode(self, requests: Sequence[ScoreRequest]) -> list[Encoded]:
        marker = self.token_id(self.marker_arg)
        out = []
        for r in requests:
            steps = r.steps or (r.response,)
            text, special = self.marker_text(dataclasses.replace(r, steps=steps))
            ids = self.tokenizer(text, add_special_tokens=special)["input_ids"]
            at = [i for i, t in enumerate(ids) if t == marker]
            if len(at) != len(steps):
                raise RmevalError(
                    f"{self.spec}: the solution to {r.prompt[:40]!r} has {len(steps)} steps but "
                    f"{len(at)} '{self.token_text(self.marker_arg)}' tokens once templated (a step "
                    f"or the prompt contains one); pass another {self.marker_arg}=."
                )
            out.append(self.cut(ids, at))
        return out

    def cut(self, ids: list[int], at: list[int]) -> Encoded:
        """``ids`` cut to the max length, with the step positions ``at`` moved along (-1 for
        a position the cut removed)."""
        enc = hf_text.truncate({"input_ids": ids}, self.max_length, self.truncation_side)
        shift = len(ids) - enc.n_tokens if self.truncation_side == "left" else 0
        enc.payload["steps"] = [p - shift if 0 <= p - shift < enc.n_tokens else -1 for p in at]
        return enc

    def step_probabilities(self, inputs: dict[str, Any], rows: Any, cols: Any) -> Any:
        """The step scores at the (row, column) marker positions of a padded batch."""
        raise NotImplementedError

    def collate(self, batch: Sequence[Encoded]) -> dict[str, Any]:
        return self._pad(batch)

    def forward_collated(self, inputs: dict[str, Any], batch: Sequence[Encoded]) -> list[Score]:
        import torch

        # step positions count unpadded ids: a left-padded row moves them by its gap
        width = int(inputs["input_ids"].shape[-1])
        left = self._padding.side == "left"
        gaps = [width - e.n_tokens if left else 0 for e in batch]
        rows = [i for i, e in enumerate(batch) for p in e.payload["steps"] if p >= 0]
        cols = [p + g for e, g in zip(batch, gaps) for p in e.payload["steps"] if p >= 0]
        device = inputs["input_ids"].device
        with torch.inference_mode():
            probs = self.step_probabilities(
                inputs, torch.tensor(rows, device=device), torch.tensor(cols, device=device)
            )
        found = iter(probs.float().cpu().tolist())
        out = []
        for e in batch:
            steps = tuple(next(found) if p >= 0 else math.nan for p in e.payload["steps"])
            out.append(Score(steps[-1], e.n_tokens, e.truncated, steps=steps))
        return out

    def hidden_states(self, requests: Sequence[ScoreRequest], layers: Any = None) -> Any:
        raise RmevalError(f"model type '{self.type_name}' has no hidden states for probes.")


class TokenClassifierPRM(MarkerPRM):
    """Step score = P(positive label) of a token-classification head at each separator."""

    type_name = "prm-token"
    marker_arg = "separator"
    arguments = {
        "separator": Arg(
            "what ends each step (default: <extra_0> for layout=qwen, a newline for trl)",
            parse=parse_text,
        ),
        "layout": Arg(
            "qwen (one text, read at each separator token) or trl (TRL's PRMTrainer rows)",
            default="qwen",
            parse=parse_choice("qwen", "trl"),
        ),
        "positive": Arg("the head's label read as 'correct': index or name", default=1),
        "head": Arg(
            "token (AutoModelForTokenClassification) or auto (the checkpoint's own AutoModel)",
            default="token",
            parse=parse_choice("token", "auto"),
        ),
        "system": Arg("a system turn before the problem (chat template)", parse=parse_text),
    }

    def marker_fields(self) -> dict[str, Any]:
        names = ("separator", "layout", "positive", "head", "system")
        return {k: self.argument(k) for k in names} | {"separator": self.separator}

    @property
    def separator(self) -> str:
        """``separator=``, else the layout's own."""
        given = self.argument("separator")
        return str(given) if given is not None else LAYOUT_SEPARATORS[self.argument("layout")]

    def token_text(self, key: str) -> str:
        return self.separator if key == "separator" else super().token_text(key)

    def encode(self, requests: Sequence[ScoreRequest]) -> list[Encoded]:
        if self.argument("layout") == "qwen":
            return super().encode(requests)
        for key in ("system", "chat_template"):
            if self.args.get(key) is not None:
                raise RmevalError(
                    f"--model-args {key}=: layout=trl reads the prompt and steps as TRL's "
                    f"PRMTrainer wrote them, with no chat turns; drop {key}= or use layout=qwen."
                )
        return [self.trl_row(r) for r in requests]

    def trl_row(self, request: ScoreRequest) -> Encoded:
        """TRL's PRMTrainer layout: BOS (if any), the prompt's ids, then each step's ids
        followed by the separator's; a step is read at its separator's last token."""
        tok = self.tokenizer
        sep = tok(self.separator, add_special_tokens=False)["input_ids"]
        ids = [tok.bos_token_id] if tok.bos_token_id is not None else []
        ids += tok(request.prompt_text, add_special_tokens=False)["input_ids"]
        at = []
        for step in request.steps or (request.response,):
            ids += tok(step, add_special_tokens=False)["input_ids"] + sep
            at.append(len(ids) - 1)
        return self.cut(ids, at)

    @property
    def model(self) -> Any:
        """The token classifier, loaded on first use."""
        if self._model is None:
            import transformers

            auto = (
                "AutoModel"
                if self.argument("head") == "auto"
                else "AutoModelForTokenClassification"
            )
            self._model = self.checkpoint.load_classifier(
                self.dtype, self.device, getattr(transformers, auto)
            )
        return self._model

    def marker_text(self, request: ScoreRequest) -> tuple[str, bool]:
        sep = self.separator
        body = "".join(step + sep for step in request.steps)
        system = self.argument("system")
        if system is not None:
            if self.text_format.name != "chat":
                raise RmevalError(
                    f"--model-args system=: {self.model_id}'s tokenizer has no chat template "
                    f"to place a system turn in; drop system= or give chat_template=."
                )
            request = dataclasses.replace(request, context=(("system", system), *request.context))
        text = hf_text.text_of(
            self.tokenizer, self.text_format, dataclasses.replace(request, response=body)
        )
        return text, self.text_format.name != "chat"

    def positive_index(self, n_labels: int) -> int:
        """The label index of ``positive=``."""
        value = self.argument("positive")
        names = hf_head.labels(self.config)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < n_labels:
            return value
        if str(value) in names:
            return names.index(str(value))
        raise RmevalError(
            f"--model-args positive={value}: not a label index (0-{n_labels - 1}) or a label "
            f"name of {self.model_id} ({', '.join(names)})."
        )

    def step_probabilities(self, inputs: dict[str, Any], rows: Any, cols: Any) -> Any:
        out = self.model(**inputs, **hf_head.no_cache(self.model))
        logits = out.logits if hasattr(out, "logits") else out[0]
        picked = logits[rows, cols].float()
        if picked.shape[-1] < 2:
            raise RmevalError(
                f"{self.model_id}: its head has {picked.shape[-1]} label(s); a token-"
                f"classification PRM needs two or more (e.g. wrong/correct)."
            )
        return picked.softmax(-1)[:, self.positive_index(picked.shape[-1])]


class TagTokenPRM(MarkerPRM):
    """Step score = P(good) / (P(good) + P(bad)) of a causal LM's next token at each tag."""

    type_name = "prm-tag"
    marker_arg = "tag"
    not_applied = _NOT_APPLIED | {"chat_template"}  # Math-Shepherd reads plain text
    arguments = {
        "tag": Arg("the token written after each step", default="ки", parse=parse_text),
        "good": Arg("the token meaning 'this step is correct'", default="+", parse=parse_text),
        "bad": Arg("the token meaning 'this step is wrong'", default="-", parse=parse_text),
    }

    def marker_fields(self) -> dict[str, Any]:
        return {k: self.argument(k) for k in ("tag", "good", "bad")}

    @property
    def model(self) -> Any:
        """The causal LM, loaded on first use."""
        if self._model is None:
            from transformers import AutoModelForCausalLM

            self._model = self.checkpoint.load_classifier(
                self.dtype, self.device, AutoModelForCausalLM
            )
        return self._model

    @property
    def text_format(self) -> hf_text.TextFormat:  # type: ignore[override]
        return hf_text.TextFormat("math-shepherd")

    def marker_text(self, request: ScoreRequest) -> tuple[str, bool]:
        tag = str(self.argument("tag"))
        body = "\n".join(f"{step} {tag}" for step in request.steps)
        return f"{request.prompt_text} {body}", True

    def step_probabilities(self, inputs: dict[str, Any], rows: Any, cols: Any) -> Any:
        import torch

        model = self.model
        base = getattr(model, model.base_model_prefix)
        hidden = base(**inputs, **hf_head.no_cache(base)).last_hidden_state
        head = model.get_output_embeddings()
        pair = torch.tensor([self.token_id("good"), self.token_id("bad")], device=hidden.device)
        # only the two candidate rows of the LM head, at the tag positions only
        logits = torch.nn.functional.linear(
            hidden[rows, cols], head.weight[pair], None if head.bias is None else head.bias[pair]
        )
        return head_transform(model.config, logits.float()).softmax(-1)[:, 0]


def head_transform(config: Any, logits: Any) -> Any:
    """``logits`` after the causal LM's own post-head transform, which the two-row shortcut
    of the LM head skips: Cohere's ``logit_scale`` (times), Granite's ``logits_scaling``
    (divided by), Gemma2-style ``final_logit_softcapping`` (``cap * tanh(x / cap)``)."""
    import torch

    config = config.get_text_config() if hasattr(config, "get_text_config") else config
    scale = getattr(config, "logit_scale", None)
    if scale is not None:
        logits = logits * float(scale)
    scaling = getattr(config, "logits_scaling", None)
    if scaling is not None:
        logits = logits / float(scaling)
    cap = getattr(config, "final_logit_softcapping", None)
    if cap is not None:
        logits = float(cap) * torch.tanh(logits / float(cap))
    return logits
