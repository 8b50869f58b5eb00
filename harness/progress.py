"""A progress bar with examples/s, tokens/s and ETA (tqdm on stderr)."""

from __future__ import annotations

import sys
import time
from typing import Any


class Progress:
    """Counts texts and real tokens; tqdm gives the ETA, the postfix examples/s and tokens/s.

    ``examples_per_text`` converts texts to examples (a pair is two texts)."""

    def __init__(
        self, total: int, desc: str, enabled: bool = True, examples_per_text: float = 1.0
    ) -> None:
        from tqdm.auto import tqdm

        self._bar: Any = tqdm(
            total=total,
            desc=desc,
            unit="text",
            disable=not enabled,
            file=sys.stderr,
            dynamic_ncols=True,
            mininterval=0.5,
        )
        self._start = time.perf_counter()
        self.examples_per_text = examples_per_text
        self.tokens = 0
        self.texts = 0

    def update(self, texts: int, tokens: int) -> None:
        """Record a finished batch."""
        self.texts += texts
        self.tokens += tokens
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        self._bar.set_postfix_str(
            f"{self.texts * self.examples_per_text / elapsed:.1f} examples/s, "
            f"{self.tokens / elapsed:,.0f} tokens/s",
            refresh=False,
        )
        self._bar.update(texts)

    def close(self) -> None:
        self._bar.close()
