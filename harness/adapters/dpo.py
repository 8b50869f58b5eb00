"""DPO implicit rewards: log-probability ratios of a policy and its reference, via lm-eval.

``--model dpo:POLICY --model-args ref=REF``:
    r(x, y) = Σ_t log π(y_t | x, y_<t) − Σ_t log π_ref(y_t | x, y_<t)   (response tokens only)
``--model dpo:POLICY --model-args ref_free=sum|avg|norm`` (no reference model):
    sum:  Σ_t log π(y_t | ·)          avg: the same divided by the number of response tokens
    norm: −‖(log π(y_t | ·))_t‖₂

The prompt is context only: with a chat template it is rendered as one user turn plus the
generation prompt (the policy's template, used for policy and reference alike); without one it
is the raw prompt followed by a newline. The response is the continuation: exactly its tokens
are summed (the separator and generation prompt belong to the prompt; TRL's DPO boundary, see
``harness.adapters.loglik_tokens``; ``lm_eval_compat=true`` for lm-eval's rule). Sums come from one
``lm.loglikelihood`` call per model and batch; ``norm`` needs per-token values, which
``LMEvalModel.token_logprobs`` computes (one forward pass per response on the ``hf`` backend).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rmeval.harness.adapters.base import Arg, Encoded, parse_choice, parse_text
from rmeval.harness.adapters.loglik import LMEvalModel, LMEvalRewardModel, Split
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import Score, ScoreRequest

REF_FREE = ("sum", "avg", "norm")


class DPOImplicitReward(LMEvalRewardModel):
    """Implicit reward of a DPO-trained policy (``ref=REF``) or a reference-free variant."""

    type_name = "dpo"
    own_keys = frozenset({"ref", "ref_free"})
    path_keys = frozenset({"ref"})
    arguments = {
        "ref": Arg(
            "reference model folder or hub id (reward = policy - reference)",
            by_content=True,
            parse=parse_text,
        ),
        "ref_free": Arg(
            "no reference: sum, avg or norm of the policy's log-probs",
            parse=parse_choice(*REF_FREE),
        ),
    }

    def __init__(self, model_id: str = "", **args: Any) -> None:
        super().__init__(model_id, **args)
        ref = self.options.get("ref")
        self.ref_free: str | None = self.option("ref_free", None, (None, *REF_FREE))
        if (ref is None) == (self.ref_free is None):
            raise RmevalError(
                "--model dpo:POLICY needs exactly one of --model-args ref=REF_MODEL or "
                "ref_free=sum|avg|norm."
            )
        # peft=/delta= edit the policy's weights only; the reference is the plain model.
        ref_settings = self.settings.without_weight_edits()
        self.ref = LMEvalModel(str(ref), ref_settings) if ref is not None else None

    def fingerprint_fields(self) -> dict[str, Any]:
        ref = self.ref.fingerprint_fields() if self.ref is not None else None
        return super().fingerprint_fields() | {"ref": ref, "ref_free": self.ref_free}

    def encode(self, requests: Sequence[ScoreRequest]) -> list[Encoded]:
        out = []
        for r in requests:
            context = self.main.text_context(r)
            policy = self.main.split(context, r.response)
            ref = None
            if self.ref is not None:
                ref = reference_split(self.main, self.ref, context, r, policy, "DPO rewards")
            truncated = policy.truncated or (ref is not None and ref.truncated)
            out.append(Encoded(policy.n_tokens, (policy, ref), truncated))
        return out

    def forward(self, batch: Sequence[Encoded]) -> list[Score]:
        policy = [e.payload[0] for e in batch]
        if self.ref is not None:
            ref_values = self.ref.loglikelihood([e.payload[1] for e in batch])
            values = [
                p - r for p, r in zip(self.main.loglikelihood(policy), ref_values, strict=True)
            ]
        elif self.ref_free == "norm":
            values = [
                _neg_norm(s, lp)
                for s, lp in zip(policy, self.main.token_logprobs(policy), strict=True)
            ]
        else:
            values = self.main.loglikelihood(policy)
            if self.ref_free == "avg":
                values = [
                    _mean(v, len(s.continuation_ids)) for v, s in zip(values, policy, strict=True)
                ]
        return [
            Score(float(v), n_tokens=e.n_tokens, truncated=e.truncated)
            for v, e in zip(values, batch, strict=True)
        ]


def reference_split(
    policy_model: LMEvalModel,
    ref_model: LMEvalModel,
    context: str,
    request: ScoreRequest,
    policy: Split,
    what: str,
) -> Split:
    """The reference's split of the pair the policy split as ``policy``; refused when the two
    tokenisers disagree (a log-ratio needs the same tokens on both sides)."""
    ref = ref_model.split(context, request.response)
    if (ref.context_ids, ref.continuation_ids) != (policy.context_ids, policy.continuation_ids):
        raise RmevalError(
            f"policy {policy_model.model_id} and reference {ref_model.model_id} tokenise the "
            f"prompt {request.prompt[:40]!r} differently; {what} need the same tokenizer."
        )
    return ref


def _mean(total: float, n: int) -> float:
    return total / n if n else math.nan


def _neg_norm(split: Split, logprobs: list[float]) -> float:
    if not split.scorable and split.continuation_ids:
        return math.nan
    return -math.sqrt(sum(x * x for x in logprobs))
