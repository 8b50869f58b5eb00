"""Likelihood rewards: log-probability of the reference answer after the model's own response.

``--model likelihood:MODEL`` scores a request as

    log P(reference | prompt, response, answer_prefix)

summed over exactly the reference's tokens (see ``harness.adapters.loglik_tokens``;
``normalize=tokens``: the mean per token instead). The
context is the prompt as a user turn (chat template, if any, with the generation prompt; the
raw prompt plus a newline otherwise), then the response, then ``answer_prefix`` (default
``"\\nAnswer:"``; ``\\n`` in ``--model-args`` means a newline); the reference follows after a
word-boundary space. It needs tasks whose rows carry a reference answer
(``ScoreRequest.reference``): a request without one is an error, unless
``missing_reference=nan`` is given, which scores it NaN (counted as invalid, never silent).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rmeval.harness.adapters.base import Arg, Encoded, parse_choice
from rmeval.harness.adapters.loglik import LMEvalRewardModel, spaced
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import Score, ScoreRequest

DEFAULT_ANSWER_PREFIX = "\nAnswer:"


class LikelihoodReward(LMEvalRewardModel):
    """Reward = log P(reference | prompt, response) under a causal LM."""

    type_name = "likelihood"
    shown_labels = ("reference",)
    own_keys = frozenset({"normalize", "answer_prefix", "missing_reference"})
    arguments = {
        "normalize": Arg(
            "none (sum over the reference's tokens) or tokens (mean)",
            default="none",
            parse=parse_choice("none", "tokens"),
        ),
        "answer_prefix": Arg(
            "text between response and reference (\\n = newline)", default=DEFAULT_ANSWER_PREFIX
        ),
        "missing_reference": Arg(
            "a request without a reference: error or nan",
            default="error",
            output=False,
            parse=parse_choice("error", "nan"),
        ),
    }

    def __init__(self, model_id: str = "", **args: Any) -> None:
        super().__init__(model_id, **args)
        self.normalize: str = self.option("normalize", "none", ("none", "tokens"))
        self.missing: str = self.option("missing_reference", "error", ("error", "nan"))
        prefix = self.options.get("answer_prefix", DEFAULT_ANSWER_PREFIX)
        self.answer_prefix = str(prefix).replace("\\n", "\n")

    def fingerprint_fields(self) -> dict[str, Any]:
        return super().fingerprint_fields() | {
            "normalize": self.normalize,
            "answer_prefix": self.answer_prefix,
        }

    def context(self, request: ScoreRequest) -> str:
        """Everything before the reference answer."""
        return self.main.text_context(request) + request.response + self.answer_prefix

    def encode(self, requests: Sequence[ScoreRequest]) -> list[Encoded]:
        out = []
        for r in requests:
            if r.reference is None or not r.reference.strip():
                if self.missing == "nan":
                    out.append(Encoded(1, None))
                    continue
                raise RmevalError(
                    f"likelihood: the request for prompt {r.prompt[:40]!r} has no reference "
                    f"answer; use a task whose rows carry a `reference`, or pass "
                    f"missing_reference=nan to count such rows as invalid."
                )
            context = self.context(r)
            split = self.main.split(context, spaced(context, r.reference))
            out.append(Encoded(split.n_tokens, split, split.truncated))
        return out

    def forward(self, batch: Sequence[Encoded]) -> list[Score]:
        splits = [e.payload for e in batch if e.payload is not None]
        found = iter(self.main.loglikelihood(splits))
        values = [math.nan if e.payload is None else next(found) for e in batch]
        if self.normalize == "tokens":
            values = [
                v / len(e.payload.continuation_ids)
                if e.payload and e.payload.continuation_ids
                else v
                for v, e in zip(values, batch, strict=True)
            ]
        return [
            Score(float(v), n_tokens=e.n_tokens, truncated=e.truncated)
            for v, e in zip(values, batch, strict=True)
        ]
