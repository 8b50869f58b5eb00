"""The scoring loop: cache lookup, one batch plan over all texts, forward the missing batches."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from harness.adapters.base import RewardModel
from harness.batching import plan_batches, run_with_backoff
from harness.cache import ScoreCache
from harness.errors import RmevalError
from harness.progress import Progress
from harness.records import Score, ScoreRequest

log = logging.getLogger(__name__)


@dataclass
class ScoringStats:
    """What one scoring pass did (for throughput and the closing log line)."""

    requested: int = 0
    cached: int = 0
    scored: int = 0
    tokens: int = 0
    seconds: float = 0.0


def unique_requests(requests: Sequence[ScoreRequest]) -> list[ScoreRequest]:
    """Requests de-duplicated by content hash, first occurrence order."""
    seen: dict[str, ScoreRequest] = {}
    for r in requests:
        seen.setdefault(r.key, r)
    return list(seen.values())


def score_requests(
    model: RewardModel,
    requests: Sequence[ScoreRequest],
    cache: ScoreCache,
    *,
    batch_tokens: int | None = None,
    progress: bool = True,
    shard: tuple[int, int] = (0, 1),
    examples_per_text: float = 1.0,
) -> tuple[dict[str, Score], ScoringStats]:
    """Scores for every request (by key), computing only what the cache lacks.

    The batch plan covers all requests, cached or not, so a resumed run rebuilds the same
    batches and recomputes exactly the batches that never committed: its scores equal an
    uninterrupted run bit for bit. ``shard=(rank, world)`` scores every world-th batch.
    """
    import time

    reqs = unique_requests(requests)
    keys = [r.key for r in reqs]
    fingerprint = model.fingerprint()
    found = cache.get_many(fingerprint, keys)
    stats = ScoringStats(requested=len(reqs), cached=len(found))
    if len(found) == len(reqs):
        return found, stats
    start = time.perf_counter()
    encoded = model.encode(reqs)
    budget = batch_tokens or model.default_batch_tokens
    batches = plan_batches([e.n_tokens for e in encoded], budget, tiebreak=keys)
    rank, world = shard
    todo = [
        b
        for i, b in enumerate(batches)
        if i % world == rank and any(keys[j] not in found for j in b)
    ]
    bar = Progress(sum(len(b) for b in todo), f"scoring {model.spec}", progress, examples_per_text)
    try:
        for batch in todo:
            scores = run_with_backoff(
                [encoded[j] for j in batch],
                model.forward,
                on_oom=lambda: log.warning("out of memory: halving the batch and retrying"),
            )
            if len(scores) != len(batch):
                raise RmevalError(
                    f"model {model.spec} returned {len(scores)} scores for {len(batch)} texts."
                )
            fresh = [(keys[j], s) for j, s in zip(batch, scores) if keys[j] not in found]
            cache.put_many(fingerprint, fresh)
            found.update(fresh)
            n_tok = sum(encoded[j].n_tokens for j in batch)
            stats.scored += len(batch)
            stats.tokens += n_tok
            bar.update(len(batch), n_tok)
    finally:
        bar.close()
    stats.seconds = time.perf_counter() - start
    return found, stats
