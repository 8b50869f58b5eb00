"""``prm-implicit``: implicit process rewards of a policy and its reference (PRIME, "free
process rewards"), the per-token form of the ``dpo`` reward.

``--model prm-implicit:POLICY --model-args ref=REF,beta=0.05``: the reward of step k is
    β · Σ_{t in step k} (log π(y_t | x, y_<t) − log π_ref(y_t | x, y_<t))
over the response tokens of that step. The context and the response tokens are exactly
``dpo``'s (see :mod:`rmeval.harness.adapters.dpo`); each model reads a solution in one forward
pass (``LMEvalModel.token_logprobs``). Step k's tokens are those after step k−1's end and up to
its own: the end of step k is where the tokens of the response cut after step k stop agreeing
with the tokens of the whole response (a token that merges the end of one step with the start
of the next belongs to the later step; text after the last step belongs to it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rmeval.harness.adapters.base import Arg, Encoded, parse_text
from rmeval.harness.adapters.dpo import reference_split
from rmeval.harness.adapters.loglik import LMEvalModel, LMEvalRewardModel, Split
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import Score, ScoreRequest
from rmeval.harness.steps import step_ends


def parse_beta(value: Any, flag: str) -> float:
    """A positive finite number."""
    try:
        beta = float(value)
    except (TypeError, ValueError):
        beta = math.nan
    if isinstance(value, bool) or not math.isfinite(beta) or beta <= 0:
        raise RmevalError(f"{flag}={value}: use a positive number, e.g. beta=0.05.")
    return beta


def _shared(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


class ImplicitPRM(LMEvalRewardModel):
    """Step reward = β · the step's summed per-token log-ratio of policy over reference."""

    type_name = "prm-implicit"
    adapter_version = "1"
    scores_steps = True
    scores_responses = False
    own_keys = frozenset({"ref", "beta"})
    path_keys = frozenset({"ref"})
    arguments = {
        "ref": Arg("reference model folder or hub id", by_content=True, parse=parse_text),
        "beta": Arg("β, the scale of the log-ratio (PRIME: 0.05)", default=0.05, parse=parse_beta),
    }

    def __init__(self, model_id: str = "", **args: Any) -> None:
        super().__init__(model_id, **args)
        ref = self.options.get("ref")
        if ref is None:
            raise RmevalError("--model prm-implicit:POLICY needs --model-args ref=REFERENCE_MODEL.")
        self.ref = LMEvalModel(str(ref), self.settings.without_weight_edits())
        self.beta = float(self.argument("beta"))

    def fingerprint_fields(self) -> dict[str, Any]:
        return super().fingerprint_fields() | {
            "ref": self.ref.fingerprint_fields(),
            "beta": self.beta,
        }

    def bounds(self, context: str, request: ScoreRequest, full: Split) -> list[int]:
        """Continuation-token index where each step ends (the last one: all tokens)."""
        ends = step_ends(request) if request.steps else [len(request.response)]
        out = []
        for end in ends[:-1]:
            cut = self.main.split(context, request.response[:end])
            out.append(_shared(cut.continuation_ids, full.continuation_ids))
        return [*out, len(full.continuation_ids)]

    def encode(self, requests: Sequence[ScoreRequest]) -> list[Encoded]:
        out = []
        for r in requests:
            context = self.main.text_context(r)
            policy = self.main.split(context, r.response)
            ref = reference_split(
                self.main, self.ref, context, r, policy, "implicit process rewards"
            )
            payload = (policy, self.bounds(context, r, policy))
            out.append(Encoded(policy.n_tokens, payload, policy.truncated or ref.truncated))
        return out

    def forward(self, batch: Sequence[Encoded]) -> list[Score]:
        splits = [e.payload[0] for e in batch]
        policy = self.main.token_logprobs(splits)
        ref = self.ref.token_logprobs(splits)
        out = []
        for e, lp, lr in zip(batch, policy, ref, strict=True):
            split, bounds = e.payload
            if not split.scorable:
                steps = tuple(math.nan for _ in bounds)
            else:
                ratio = [p - q for p, q in zip(lp, lr, strict=True)]
                starts = [0, *bounds[:-1]]
                steps = tuple(self.beta * sum(ratio[a:b]) for a, b in zip(starts, bounds))
            out.append(Score(steps[-1], e.n_tokens, e.truncated, steps=steps))
        return out
