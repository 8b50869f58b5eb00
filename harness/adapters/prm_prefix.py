"""``prm-prefix``: an outcome reward model on solution prefixes, the baseline PRM papers report.

``--model prm-prefix:FOLDER`` takes any ``hf`` sequence-classifier reward model (and every
``hf`` argument): the score of step k is the reward of the solution truncated after step k
(``ScoreRequest.steps`` located in the response, in order). A solution's prefixes are scored
in the same batch; with packed batches and ``share_prompts=true`` the prompt and first step
they share are computed once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from rmeval.harness.adapters.base import Encoded, RewardModel
from rmeval.harness.adapters.hf import HFRewardModel
from rmeval.harness.records import Score, ScoreRequest
from rmeval.harness.steps import prefixes


class PrefixOutcomeRM(HFRewardModel):
    """Step score = a scalar reward model's score of the solution cut after that step."""

    type_name = "prm-prefix"
    adapter_version = "1"
    scores_steps = True
    scores_responses = False

    def encode(self, requests: Sequence[ScoreRequest]) -> list[Encoded]:
        out = []
        for r in requests:
            texts = prefixes(r) if r.steps else [r.response]
            parts = super().encode([dataclasses.replace(r, response=t, steps=()) for t in texts])
            n = sum(e.n_tokens for e in parts)
            out.append(Encoded(n, parts, any(e.truncated for e in parts)))
        return out

    def plan(self, encoded: Sequence[Encoded], budget: int, keys: Sequence[str]) -> list[list[int]]:
        """Length-sorted token-budget batches of whole solutions (all prefixes together)."""
        return RewardModel.plan(self, encoded, budget, keys)

    def collate(self, batch: Sequence[Encoded]) -> dict[str, Any]:
        return super().collate([part for e in batch for part in e.payload])

    def forward_collated(self, inputs: dict[str, Any], batch: Sequence[Encoded]) -> list[Score]:
        flat = super().forward_collated(inputs, [part for e in batch for part in e.payload])
        found = iter(flat)
        out = []
        for e in batch:
            steps = tuple(next(found).value for _ in e.payload)
            out.append(Score(steps[-1], e.n_tokens, e.truncated, steps=steps))
        return out

    def hidden_states(self, requests: Sequence[ScoreRequest], layers: Any = None) -> Any:
        from rmeval.harness.errors import RmevalError

        raise RmevalError("model type 'prm-prefix' has no hidden states; probe with hf:.")
