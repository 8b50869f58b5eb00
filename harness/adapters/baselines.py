"""Reference baselines: response length and a seeded random reward.

Both also score step requests (``ScoreRequest.steps``): one score per step, the step's length
or a random number from (seed, request, step index); the score's ``value`` is the last step's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from rmeval.harness.adapters.base import Arg, Encoded, RewardModel, parse_choice
from rmeval.harness.errors import RmevalError
from rmeval.harness.records import Score, ScoreRequest


def _parse_seed(value: Any, flag: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise RmevalError(f"{flag}={value}: use an integer.")


def _step_score(values: list[float]) -> Score:
    return Score(values[-1], n_tokens=0, steps=tuple(values))


class LengthBaseline(RewardModel):
    """Reward = length of the response (``unit=chars`` or ``words``): the verbosity bias floor.
    For a step request, one length per step."""

    type_name = "length"
    default_batch_tokens = 1 << 20
    scores_steps = True

    arguments = {
        "unit": Arg("chars or words", default="chars", parse=parse_choice("chars", "words"))
    }

    def __init__(self, model_id: str = "", **args: Any) -> None:
        super().__init__(model_id, **args)
        self.unit = self.argument("unit")

    def fingerprint_fields(self) -> dict[str, Any]:
        return {"unit": self.unit}

    def encode(self, requests: Sequence[ScoreRequest]) -> list[Encoded]:
        # a scalar request's payload is its response text, a step request's the tuple of steps
        return [Encoded(1, r.steps or r.response) for r in requests]

    def forward(self, batch: Sequence[Encoded]) -> list[Score]:
        measure = len if self.unit == "chars" else (lambda t: len(t.split()))
        out = []
        for e in batch:
            if isinstance(e.payload, tuple):
                out.append(_step_score([float(measure(s)) for s in e.payload]))
            else:
                out.append(Score(float(measure(e.payload)), n_tokens=0))
        return out


class RandomBaseline(RewardModel):
    """Reward uniform in [0, 1) from a hash of (seed, text): deterministic in any order or batch.
    For a step request, one such number per step (hash of seed, text and step index)."""

    type_name = "random"
    default_batch_tokens = 1 << 20
    scores_steps = True

    arguments = {
        "seed": Arg(
            "seed of the hash (a different seed, different rewards)", default=0, parse=_parse_seed
        )
    }

    def __init__(self, model_id: str = "", **args: Any) -> None:
        super().__init__(model_id, **args)
        self.seed = self.argument("seed")

    def fingerprint_fields(self) -> dict[str, Any]:
        return {"seed": self.seed}

    def encode(self, requests: Sequence[ScoreRequest]) -> list[Encoded]:
        # a scalar request's payload is its key, a step request's (key, number of steps)
        return [Encoded(1, (r.key, len(r.steps)) if r.steps else r.key) for r in requests]

    def _uniform(self, text: str) -> float:
        digest = hashlib.sha256(f"{self.seed}:{text}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def forward(self, batch: Sequence[Encoded]) -> list[Score]:
        out = []
        for e in batch:
            if isinstance(e.payload, tuple):
                key, n_steps = e.payload
                out.append(_step_score([self._uniform(f"{key}:{i}") for i in range(n_steps)]))
            else:
                out.append(Score(self._uniform(e.payload)))
        return out
