"""Reference baselines: response length and a seeded random reward."""

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


class LengthBaseline(RewardModel):
    """Reward = length of the response (``unit=chars`` or ``words``): the verbosity bias floor."""

    type_name = "length"
    default_batch_tokens = 1 << 20

    arguments = {
        "unit": Arg("chars or words", default="chars", parse=parse_choice("chars", "words"))
    }

    def __init__(self, model_id: str = "", **args: Any) -> None:
        super().__init__(model_id, **args)
        self.unit = self.argument("unit")

    def fingerprint_fields(self) -> dict[str, Any]:
        return {"unit": self.unit}

    def encode(self, requests: Sequence[ScoreRequest]) -> list[Encoded]:
        return [Encoded(1, r.response) for r in requests]

    def forward(self, batch: Sequence[Encoded]) -> list[Score]:
        measure = len if self.unit == "chars" else (lambda t: len(t.split()))
        return [Score(float(measure(e.payload)), n_tokens=0) for e in batch]


class RandomBaseline(RewardModel):
    """Reward uniform in [0, 1) from a hash of (seed, text): deterministic in any order or batch."""

    type_name = "random"
    default_batch_tokens = 1 << 20

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
        return [Encoded(1, r.key) for r in requests]

    def forward(self, batch: Sequence[Encoded]) -> list[Score]:
        out = []
        for e in batch:
            digest = hashlib.sha256(f"{self.seed}:{e.payload}".encode()).digest()
            out.append(Score(int.from_bytes(digest[:8], "big") / 2**64))
        return out
