"""An LLM judge that writes its verdict (``--model gen-judge:MODEL``).

The judge reads a prompt filled from a template file and replies in text; a verdict grammar
(:mod:`rmeval.harness.adapters.verdicts`) reads the reply. Four protocols, one template each
(defaults in ``judge_templates/``, replaced with ``--model-args NAME=FILE``; ``str.format``
fields, literal braces written ``{{ }}``):

- ``template`` (pointwise verifier, YES/NO): ``{question}``, ``{response}``, ``{reference}``
  (the default has a variant without the reference for requests that carry none);
- ``pair_template`` (pairwise, A/B): ``{question}``, ``{response_a}``, ``{response_b}``;
- ``choice_template`` (best of n): ``{question}``, ``{responses}`` (the n responses, each
  framed as "Assistant X's Answer"), ``{labels}`` ("A, B, C or D"), ``{n}``;
- ``rating_template`` (1-10 rating): ``{question}``, ``{response}``.

The judge gives verdicts, never scalar scores (``scalar_scores = False``): tasks call its
capabilities ``judge_points``, ``judge_pairs``, ``judge_choices`` and ``rate`` (see
``rmeval.tasks.judged``), and a task that needs scalar rewards refuses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

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
from rmeval.harness.adapters.generation import (
    BACKENDS,
    LOCAL_BACKENDS,
    Decoding,
    Endpoint,
    TextGenerator,
    cached_generate,
)
from rmeval.harness.adapters.judge_prompts import fill_template, read_template
from rmeval.harness.adapters.loglik import LMSettings
from rmeval.harness.adapters.verdicts import (
    labels_for,
    parse_label,
    parse_pair,
    parse_rating,
    parse_yes_no,
)
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import Score, ScoreRequest, sha256_text

TEMPLATE_FIELDS = {
    "template": {"question", "response", "reference"},
    "pair_template": {"question", "response_a", "response_b"},
    "choice_template": {"question", "responses", "labels", "n"},
    "rating_template": {"question", "response"},
}
DEFAULT_FILES = {
    "template": "pointwise.txt",
    "pair_template": "pairwise.txt",
    "choice_template": "choice.txt",
    "rating_template": "rating.txt",
}
NO_REFERENCE_FILE = "pointwise_no_reference.txt"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One judge call: the reply as generated and what the grammar read in it."""

    generation: str
    """The reply text, verbatim."""
    verdict: str | None
    """``YES``/``NO``, ``A``/``B``/``tie``, a label, or a rating as text; None: unparseable."""
    prompt_sha256: str = ""
    """sha256 of the filled prompt (the generation cache key)."""
    truncated: bool = False
    """The prompt was longer than the local model's window and lost its beginning."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt_sha256": self.prompt_sha256,
            "generation": self.generation,
            "verdict": self.verdict,
            "truncated": self.truncated,
        }


def default_template(name: str) -> str:
    """A shipped template file's text (``judge_templates/<name>``)."""
    return (resources.files("rmeval.harness.adapters") / "judge_templates" / name).read_text(
        encoding="utf-8"
    )


def _parse_float(value: Any, flag: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if number < 0 or isinstance(value, bool):
        raise RmevalError(f"{flag}={value}: use a number >= 0 (0 is greedy decoding).")
    return number


class GeneratingJudge(RewardModel):
    """A judge that generates its verdict through lm-eval's ``generate_until``."""

    type_name = "gen-judge"
    model_kind = "generative-judge"
    score_kind = "probability"
    scalar_scores = False
    arguments = {
        "backend": Arg(
            "lm-eval model: " + ", ".join(BACKENDS), "hf", parse=parse_choice(*BACKENDS)
        ),
        "base_url": Arg("endpoint URL (…/v1/chat/completions) for API backends", parse=parse_text),
        "api_key_env": Arg(
            "environment variable holding the API key", output=False, parse=parse_text
        ),
        "max_gen_toks": Arg("most tokens generated per reply", 256, parse=parse_int),
        "temperature": Arg("0 = greedy; above 0 samples", 0.0, parse=_parse_float),
        "concurrency": Arg("API requests in flight at once", 1, output=False, parse=parse_int),
        "max_retries": Arg("attempts per API request", 3, output=False, parse=parse_int),
        "timeout": Arg("seconds per API request", 300, output=False, parse=parse_int),
        **{
            name: Arg(f"prompt file ({', '.join(sorted(f))})", by_content=True)
            for name, f in TEMPLATE_FIELDS.items()
        },
        "revision": Arg("hub branch, tag or commit (hf)", parse=parse_text),
        "dtype": Arg("float32, bfloat16, float16 or auto (hf)"),
        "max_length": Arg("context window in tokens (hf)", parse=parse_int),
        "chat_template": Arg("auto, true or false (hf)", "auto", parse=parse_auto_bool),
        "device": Arg("cpu, cuda, ... (hf)", output=False),
        "batch_size": Arg("lm-eval batch size (hf)", 8, output=False),
        "trust_remote_code": Arg("allow custom code", False, output=False, parse=parse_bool),
        "allow_unsafe_weights": Arg("allow .bin weights", False, output=False, parse=parse_bool),
    }

    def __init__(self, model_id: str = "", **args: Any) -> None:
        if not model_id:
            raise RmevalError("--model gen-judge:MODEL needs a model folder, hub id or API name.")
        super().__init__(model_id, **args)
        _check_backend_keys(str(self.argument("backend")), self.args)
        a = self.argument
        self.templates = {
            n: read_template(n, self.args.get(n), TEMPLATE_FIELDS[n]) for n in TEMPLATE_FIELDS
        }
        self.decoding = Decoding(int(a("max_gen_toks")), float(a("temperature")))
        endpoint = Endpoint(
            a("base_url"), a("api_key_env"), a("concurrency"), a("max_retries"), a("timeout")
        )
        lm_keys = ("device", "batch_size", "dtype", "max_length", "revision", "chat_template")
        lm_keys += ("trust_remote_code", "allow_unsafe_weights")
        lm_args = {k: a(k) for k in lm_keys if a(k) is not None}
        lm_args["chat_template"] = str(lm_args.get("chat_template", "auto")).lower()
        self.generator = TextGenerator(
            model_id, str(a("backend")), LMSettings.from_args(lm_args), self.decoding, endpoint
        )
        self.chunk = max(32, 4 * int(a("concurrency")))

    def fingerprint_fields(self) -> dict[str, Any]:
        fields = self.generator.fingerprint_fields()
        hashes = {n: sha256_text(self.template_text(n)) for n in TEMPLATE_FIELDS}
        hashes["template_no_reference"] = sha256_text(self.template_text(NO_REFERENCE_FILE))
        return fields | {
            "templates_sha256": hashes,
            "dtype": fields.get("lm_args", {}).get("dtype"),
            "max_length": fields.get("lm_args", {}).get("max_length"),
            "revision": self.argument("revision"),
        }

    def describe(self) -> dict[str, Any]:
        """The result's ``model`` block, with ``kind: generative-judge`` for labels."""
        return super().describe() | {"kind": self.model_kind}

    def template_text(self, name: str) -> str:
        """The template in use: the given file's text, else the shipped default."""
        if name == NO_REFERENCE_FILE:
            given = self.templates["template"]
            return given if given is not None else default_template(NO_REFERENCE_FILE)
        given = self.templates[name]
        return given if given is not None else default_template(DEFAULT_FILES[name])

    # -- scalar scoring: refused ----------------------------------------------------------
    def encode(self, requests: Sequence[ScoreRequest]) -> list[Encoded]:
        raise RmevalError(
            f"model {self.spec} writes verdicts, not scalar scores; run it on a task that asks "
            f"a judge (master-keys, pairwise, core-pairwise, core-bon, best-of-n, rewardbench, "
            f"rewardbench2)."
        )

    def forward(self, batch: Sequence[Encoded]) -> list[Score]:
        return self.encode([])  # type: ignore[return-value]

    # -- capabilities the judged tasks call -------------------------------------------------
    def generate(
        self, prompts: Sequence[str], cache: Any, cache_only: bool = False
    ) -> list[dict[str, Any]]:
        """Replies (``{"text", "truncated"}``) to filled prompts, through the generation cache."""
        return cached_generate(
            self.generator,
            prompts,
            cache,
            self.fingerprint(),
            cache_only=cache_only,
            chunk=self.chunk,
        )

    def verdicts(
        self, prompts: Sequence[str], cache: Any, cache_only: bool, parse: Any
    ) -> list[Verdict]:
        """Generate (through the cache) and parse: one :class:`Verdict` per prompt."""
        replies = self.generate(prompts, cache, cache_only)
        return [
            Verdict(r["text"], parse(r["text"], i), sha256_text(p), bool(r.get("truncated")))
            for i, (r, p) in enumerate(zip(replies, prompts))
        ]

    def judge_points(
        self, requests: Sequence[ScoreRequest], cache: Any, cache_only: bool = False
    ) -> list[Verdict]:
        """YES/NO verdicts on each request's response (with its reference when it has one)."""
        prompts = []
        for r in requests:
            name = "template" if r.reference is not None else NO_REFERENCE_FILE
            fields = {"question": r.prompt_text, "response": r.response, "reference": r.reference}
            prompts.append(fill_template(self.template_text(name), fields, "template"))
        return self.verdicts(prompts, cache, cache_only, lambda t, _: parse_yes_no(t))

    def judge_pairs(
        self, items: Sequence[tuple[ScoreRequest, str, str]], cache: Any, cache_only: bool = False
    ) -> list[Verdict]:
        """A/B/tie verdicts on ``(request, response_a, response_b)`` (the request's own
        response is not used: its prompt and context are)."""
        template = self.template_text("pair_template")
        prompts = [
            fill_template(
                template,
                {"question": r.prompt_text, "response_a": a, "response_b": b},
                "pair_template",
            )
            for r, a, b in items
        ]
        return self.verdicts(prompts, cache, cache_only, lambda t, _: parse_pair(t))

    def judge_choices(
        self,
        items: Sequence[tuple[ScoreRequest, Sequence[str]]],
        cache: Any,
        cache_only: bool = False,
    ) -> list[Verdict]:
        """The label (A, B, ...) of the best of each item's responses, as shown."""
        template = self.template_text("choice_template")
        prompts, label_sets = [], []
        for r, responses in items:
            labels = labels_for(len(responses))
            block = "\n\n".join(
                f"[The Start of Assistant {x}'s Answer]\n{text}\n[The End of Assistant {x}'s Answer]"
                for x, text in zip(labels, responses)
            )
            joined = ", ".join(labels[:-1]) + f" or {labels[-1]}"
            fields = {
                "question": r.prompt_text,
                "responses": block,
                "labels": joined,
                "n": str(len(labels)),
            }
            prompts.append(fill_template(template, fields, "choice_template"))
            label_sets.append(labels)
        return self.verdicts(prompts, cache, cache_only, lambda t, i: parse_label(t, label_sets[i]))

    def rate(
        self, requests: Sequence[ScoreRequest], cache: Any, cache_only: bool = False
    ) -> list[Verdict]:
        """A 1-10 rating of each request's response (the verdict is the rating as text)."""
        template = self.template_text("rating_template")
        prompts = [
            fill_template(
                template, {"question": r.prompt_text, "response": r.response}, "rating_template"
            )
            for r in requests
        ]

        def read(text: str, _: int) -> str | None:
            value = parse_rating(text)
            return None if value is None else f"{value:g}"

        return self.verdicts(prompts, cache, cache_only, read)


LOCAL_ONLY = ("revision", "dtype", "max_length", "chat_template")
ENDPOINT_ONLY = ("base_url", "api_key_env", "concurrency")


def _check_backend_keys(backend: str, args: dict[str, Any]) -> None:
    """Refuse an argument the chosen backend would ignore (recorded but never applied)."""
    local = backend in LOCAL_BACKENDS
    for key in ENDPOINT_ONLY if local else LOCAL_ONLY:
        if args.get(key) is not None:
            where = "an endpoint backend" if local else "a local backend (hf, vllm)"
            raise RmevalError(
                f"--model-args {key}: only {where} uses it, and backend={backend}; drop it or "
                f"change the backend."
            )
