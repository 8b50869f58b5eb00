"""Generative LLM-as-judge scored by answer likelihoods (no text generation, no parsing).

Pointwise verifier mode (``--model judge:MODEL``): the judge reads the verifier prompt below
(question, response and, when the request has one, the reference answer) as a user turn, and

    reward = P(YES) = exp(ℓ_yes) / (exp(ℓ_yes) + exp(ℓ_no))

where ℓ is the log-likelihood of exactly the tokens of the continuation " YES" / " NO" (two-way
softmax; the boundary rule of ``harness.adapters.loglik_tokens``). The
word-boundary space is left out when the context already ends in whitespace (e.g. after a chat
template's generation prompt). ``yes=``/``no=`` replace the answer words; ``template=FILE``
replaces the prompt (``str.format`` fields ``{question}``, ``{response}``, ``{reference}``;
write literal braces as ``{{ }}``).

The answers must differ in exactly one token after their shared prefix; otherwise the adapter
refuses, unless ``multi_token=sum`` is given, in which case ℓ is the sum of the answer's token
log-probabilities (a multi-token likelihood: documented, never silent).

Pairwise mode is a helper, :func:`pairwise_preference`: the judge sees two responses, P(A) comes
from the " A" / " B" likelihoods, both orders are run and order consistency is reported. No
built-in task calls it yet.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rmeval.harness.adapters.base import Arg, Encoded, parse_choice, parse_text
from rmeval.harness.adapters.judge_prompts import fill_template, read_template
from rmeval.harness.adapters.loglik import LMEvalRewardModel, Split, spaced
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import Score, ScoreRequest, sha256_text

VERIFIER_TEMPLATE = """\
You are a careful grader. Decide whether the response correctly and helpfully answers the question.

[Question]
{question}

[Reference answer]
{reference}

[Response]
{response}

Is the response correct? Answer YES or NO.
Answer:"""
"""Default pointwise prompt when the request carries a reference answer."""

VERIFIER_TEMPLATE_NO_REFERENCE = VERIFIER_TEMPLATE.replace(
    "[Reference answer]\n{reference}\n\n", ""
)
"""Default pointwise prompt without a reference answer."""

PAIRWISE_TEMPLATE = """\
You are a careful grader. Decide which of two responses answers the question better.

[Question]
{question}

[Response A]
{response_a}

[Response B]
{response_b}

Which response is better? Answer A or B.
Answer:"""
"""Default pairwise prompt (fields ``{question}``, ``{response_a}``, ``{response_b}``)."""


class GenerativeJudge(LMEvalRewardModel):
    """A causal LM as a verifier: reward = P(YES) from a two-way softmax of answer likelihoods."""

    type_name = "judge"
    score_kind = "probability"
    shown_labels = ("yes", "no")
    own_keys = frozenset({"template", "pair_template", "yes", "no", "multi_token"})
    path_keys = frozenset({"template", "pair_template"})
    arguments = {
        "template": Arg(
            "pointwise prompt file ({question}, {response}, {reference})", by_content=True
        ),
        "pair_template": Arg(
            "pairwise prompt file ({question}, {response_a}, {response_b})", by_content=True
        ),
        "yes": Arg("the answer whose probability is the reward", default="YES", parse=parse_text),
        "no": Arg("the other answer", default="NO", parse=parse_text),
        "multi_token": Arg(
            "answers of several tokens: error or sum",
            default="error",
            parse=parse_choice("error", "sum"),
        ),
    }

    def __init__(self, model_id: str = "", **args: Any) -> None:
        super().__init__(model_id, **args)
        self.yes = str(self.options.get("yes", "YES"))
        self.no = str(self.options.get("no", "NO"))
        self.multi_token: str = self.option("multi_token", "error", ("error", "sum"))
        self.template = read_template(
            "template", self.options.get("template"), {"question", "response", "reference"}
        )
        self.pair_template = read_template(
            "pair_template",
            self.options.get("pair_template"),
            {"question", "response_a", "response_b", "reference"},
        )

    def fingerprint_fields(self) -> dict[str, Any]:
        return super().fingerprint_fields() | {
            "answers": [self.yes, self.no],
            "multi_token": self.multi_token,
            "template_sha256": sha256_text(self.template or VERIFIER_TEMPLATE),
            "pair_template_sha256": sha256_text(self.pair_template or PAIRWISE_TEMPLATE),
        }

    def verifier_prompt(self, request: ScoreRequest) -> str:
        """The filled pointwise prompt (before the chat template)."""
        fields = {
            "question": request.prompt_text,
            "response": request.response,
            "reference": request.reference,
        }
        if self.template is None:
            template = (
                VERIFIER_TEMPLATE
                if request.reference is not None
                else VERIFIER_TEMPLATE_NO_REFERENCE
            )
        else:
            template = self.template
        return fill_template(template, fields, "template")

    def answer_splits(self, prompt: str, answers: tuple[str, str]) -> tuple[Split, Split]:
        """The two answer continuations after ``prompt``, checked to differ in one token."""
        turn = self.main.user_turn(prompt)
        context = turn if turn is not None else prompt
        first, second = (self.main.split(context, spaced(context, a)) for a in answers)
        _check_answers(first, second, answers, self.multi_token, self.model_id)
        return first, second

    def encode(self, requests: Sequence[ScoreRequest]) -> list[Encoded]:
        out = []
        for r in requests:
            yes, no = self.answer_splits(self.verifier_prompt(r), (self.yes, self.no))
            out.append(
                Encoded(max(yes.n_tokens, no.n_tokens), (yes, no), yes.truncated or no.truncated)
            )
        return out

    def forward(self, batch: Sequence[Encoded]) -> list[Score]:
        probs = self.two_way([e.payload for e in batch])
        return [
            Score(p, n_tokens=e.n_tokens, truncated=e.truncated)
            for p, e in zip(probs, batch, strict=True)
        ]

    def two_way(self, pairs: Sequence[tuple[Split, Split]]) -> list[float]:
        """P(first answer) per pair from one ``loglikelihood`` call over all answers."""
        flat = [s for pair in pairs for s in pair]
        values = self.main.loglikelihood(flat)
        return [softmax_first(values[2 * i], values[2 * i + 1]) for i in range(len(pairs))]


def softmax_first(first: float, second: float) -> float:
    """exp(first) / (exp(first) + exp(second)), computed stably (NaN in, NaN out)."""
    diff = second - first
    if math.isnan(diff):
        return math.nan
    if diff > 0:
        z = math.exp(-diff)
        return z / (1.0 + z)
    return 1.0 / (1.0 + math.exp(diff))


@dataclass(frozen=True, slots=True)
class PairVerdict:
    """A pairwise judgement of responses a and b, run in both orders."""

    p_a: float
    """P(a is better), averaged over the two orders."""
    p_a_first: float
    """P(A) with a shown as response A."""
    p_a_second: float
    """P(B) with a shown as response B (b shown first)."""
    consistent: bool
    """Both orders prefer the same response (ties at exactly 0.5 count as inconsistent)."""


def pairwise_preference(
    judge: GenerativeJudge, prompt: str, a: str, b: str, reference: str | None = None
) -> PairVerdict:
    """The judge's preference between responses ``a`` and ``b`` to ``prompt`` (both orders)."""
    return pairwise_preferences(judge, [(prompt, a, b, reference)])[0]


def pairwise_preferences(
    judge: GenerativeJudge, items: Sequence[tuple[str, str, str, str | None]]
) -> list[PairVerdict]:
    """:func:`pairwise_preference` for many ``(prompt, a, b, reference)`` items in one call."""
    pairs = []
    for prompt, a, b, reference in items:
        for first, second in ((a, b), (b, a)):
            fields = {
                "question": prompt,
                "response_a": first,
                "response_b": second,
                "reference": reference,
            }
            text = fill_template(judge.pair_template or PAIRWISE_TEMPLATE, fields, "pair_template")
            pairs.append(judge.answer_splits(text, ("A", "B")))
    probs = judge.two_way(pairs)
    out = []
    for i in range(len(items)):
        p_first, p_second = probs[2 * i], 1.0 - probs[2 * i + 1]
        consistent = (p_first - 0.5) * (p_second - 0.5) > 0
        out.append(PairVerdict((p_first + p_second) / 2, p_first, p_second, consistent))
    return out


def _check_answers(
    first: Split, second: Split, answers: tuple[str, str], mode: str, model: str
) -> None:
    a, b = first.continuation_ids, second.continuation_ids
    shared = 0
    while shared < min(len(a), len(b)) and a[shared] == b[shared]:
        shared += 1
    rest = (len(a) - shared, len(b) - shared)
    if min(rest) == 0:
        raise RmevalError(
            f"judge {model}: the tokens of one of the answers {answers} begin the other's; "
            f"give yes=/no= answers that differ in their tokens."
        )
    if rest != (1, 1) and mode != "sum":
        raise RmevalError(
            f"judge {model}: answers {answers} are {rest[0]} and {rest[1]} tokens for its "
            f"tokenizer; pass single-token yes=/no= answers, or multi_token=sum to compare "
            f"summed log-likelihoods."
        )
