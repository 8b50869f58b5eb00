"""Progress of a long step: a tqdm bar with examples/s, tokens/s and ETA on a terminal, or,
where stderr is no terminal (SLURM, Kubernetes logs), a log line every ``log_every`` seconds
with texts done, texts/s and ETA."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

log = logging.getLogger("rmeval")
LOG_EVERY = 30.0
"""Seconds between progress log lines when stderr is not a terminal."""


class Progress:
    """Counts texts and real tokens; tqdm gives the ETA, the postfix examples/s and tokens/s.

    ``examples_per_text`` converts texts to examples (a pair is two texts). ``enabled`` is
    True (a bar), ``"log"`` (log lines) or False (nothing)."""

    def __init__(
        self,
        total: int,
        desc: str,
        enabled: bool | str = True,
        examples_per_text: float = 1.0,
        unit: str = "text",
    ) -> None:
        from tqdm.auto import tqdm

        self._bar: Any = tqdm(
            total=total,
            desc=desc,
            unit=unit,
            disable=enabled is not True,
            file=sys.stderr,
            dynamic_ncols=True,
            mininterval=0.5,
        )
        self._start = time.perf_counter()
        self._logs = enabled == "log"
        self._logged = self._start
        self.total, self.desc, self.unit = total, desc, unit
        self.examples_per_text = examples_per_text
        self.tokens = 0
        self.texts = 0

    def update(self, texts: int, tokens: int = 0) -> None:
        """Record a finished batch."""
        self.texts += texts
        self.tokens += tokens
        now = time.perf_counter()
        elapsed = max(now - self._start, 1e-9)
        self._bar.set_postfix_str(
            f"{self.texts * self.examples_per_text / elapsed:.1f} examples/s, "
            f"{self.tokens / elapsed:,.0f} tokens/s",
            refresh=False,
        )
        self._bar.update(texts)
        if self._logs and now - self._logged >= LOG_EVERY:
            self._logged = now
            log.info(self.line(elapsed))

    def line(self, elapsed: float) -> str:
        """``desc: done/total units (pct), rate/s, ETA`` for a log."""
        rate = self.texts / elapsed
        left = (self.total - self.texts) / rate if rate > 0 else None
        pct = 100.0 * self.texts / self.total if self.total else 100.0
        eta = "unknown" if left is None else _duration(left)
        return (
            f"{self.desc}: {self.texts:,}/{self.total:,} {self.unit}s ({pct:.0f}%), "
            f"{rate:.1f} {self.unit}s/s, ETA {eta}"
        )

    def close(self) -> None:
        self._bar.close()
        if self._logs:
            elapsed = max(time.perf_counter() - self._start, 1e-9)
            log.info(f"{self.line(elapsed)}, after {_duration(elapsed)}")


def _duration(seconds: float) -> str:
    """``1h02m``, ``3m05s`` or ``12s``."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"
