"""The scoring loop: cache lookup, one batch plan over all texts, forward the missing batches."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rmeval.harness.adapters.base import Encoded, RewardModel
from rmeval.harness.batching import free_device_memory, is_out_of_memory, run_with_backoff
from rmeval.harness.cache import ScoreCache
from rmeval.harness.errors import RmevalError
from rmeval.harness.progress import Progress
from rmeval.harness.records import Score, ScoreRequest

log = logging.getLogger(__name__)


@dataclass
class ScoringStats:
    """What one scoring pass did (for throughput and the closing log line)."""

    requested: int = 0
    """Unique texts asked for."""
    cached: int = 0
    """Of those, found in the cache before the pass."""
    scored: int = 0
    """Texts forwarded (a batch with one missing text recomputes its cached ones too)."""
    tokens: int = 0
    """Tokens forwarded."""
    seconds: float = 0.0
    """Wall time of the forward passes."""
    fresh: int = 0
    """Texts whose scores this pass added to the cache (not cached before)."""
    scored_keys: set[str] = field(default_factory=set)
    """Their keys (unless the scorer keeps none: see :class:`Scorer`)."""


def unique_requests(requests: Sequence[ScoreRequest]) -> list[ScoreRequest]:
    """Requests de-duplicated by content hash, first occurrence order."""
    seen: dict[str, ScoreRequest] = {}
    for r in requests:
        seen.setdefault(r.key, r)
    return list(seen.values())


def resolve_budget(
    model: RewardModel,
    cache: Any,
    batch_tokens: int | None,
    agree: Callable[[int], int] | None = None,
) -> int:
    """``batch_tokens``, else the budget this cache recorded for the model, else the adapter's
    automatic one (recorded, so a resumed run plans exactly the same batches).

    ``agree`` turns this process's automatic budget into the one every data-parallel rank
    plans with (it must then be called on every rank)."""
    if batch_tokens:
        return int(batch_tokens)
    fingerprint = model.fingerprint()
    stored = cache.get_blob("batch_tokens", fingerprint)
    if stored:
        return int(stored)
    budget = int(model.auto_batch_tokens())
    budget = int(agree(budget)) if agree else budget
    cache.put_blob("batch_tokens", fingerprint, str(budget))
    return budget


FIRST_CHUNK = 64
"""Requests in the first encoding chunk; later chunks double, so the forward passes start after
a small first chunk and later chunks are tokenised while earlier ones are scored."""


def chunk_bounds(
    requests: Sequence[ScoreRequest], first: int = FIRST_CHUNK
) -> list[tuple[int, int]]:
    """``[lo, hi)`` ranges of ``requests`` that double from ``first``, extended so a run of
    requests with the same prompt is never split (prompt sharing computes a group's prompt
    once); a pure function of the requests, so a resumed run chunks them the same way."""
    bounds: list[tuple[int, int]] = []
    lo, size, n = 0, first, len(requests)
    while lo < n:
        hi = min(lo + size, n)
        while hi < n and requests[hi].prompt_text == requests[hi - 1].prompt_text:
            hi += 1
        bounds.append((lo, hi))
        lo, size = hi, size * 2
    return bounds


def encoded_chunks(
    model: RewardModel, requests: Sequence[ScoreRequest]
) -> Iterator[tuple[int, list[Encoded]]]:
    """``(offset, encoded)`` per chunk. For adapters with ``encode_in_worker`` the next chunk
    is templated and tokenised in a worker thread while the caller scores this one; the others
    encode everything at once, in the caller's thread."""
    for lo, encoded, _ in _chunk_plans(model, requests, lambda _lo, c: (model.encode(c), None)):
        yield lo, encoded


def planned(
    model: RewardModel, requests: Sequence[ScoreRequest], keys: Sequence[str], budget: int
) -> Iterator[tuple[list[int], list[Encoded]]]:
    """Every batch of the plan as ``(request indices, encoded)``, planned chunk by chunk
    (``model.plan`` within each chunk, so the batches depend on the requests alone). With
    ``encode_in_worker`` a chunk is planned in the worker thread too, after its encoding."""

    def encode_and_plan(lo: int, chunk: Sequence[ScoreRequest]) -> tuple[list[Encoded], list]:
        encoded = model.encode(chunk)
        plan = model.plan(encoded, budget, keys[lo : lo + len(encoded)])
        return encoded, [([lo + j for j in b], [encoded[j] for j in b]) for b in plan]

    for _lo, _encoded, batches in _chunk_plans(model, requests, encode_and_plan):
        yield from batches


def _chunk_plans(
    model: RewardModel,
    requests: Sequence[ScoreRequest],
    work: Callable[[int, Sequence[ScoreRequest]], tuple[list[Encoded], Any]],
) -> Iterator[tuple[int, list[Encoded], Any]]:
    """``(offset, *work(offset, chunk))`` per chunk of :func:`chunk_bounds`, the next chunk's
    work run in a worker thread while the caller consumes this one (``encode_in_worker``);
    otherwise one chunk of every request, in the caller's thread."""

    def call(lo: int, hi: int) -> tuple[list[Encoded], Any]:
        return work(lo, requests[lo:hi])

    if not model.encode_in_worker:
        yield 0, *call(0, len(requests))
        return
    from concurrent.futures import ThreadPoolExecutor

    bounds = chunk_bounds(requests)
    with ThreadPoolExecutor(1, thread_name_prefix="rmeval-encode") as pool:
        chunks = (pool.submit(call, lo, hi) for lo, hi in bounds)  # lazy
        ahead = next(chunks, None)
        for lo, _hi in bounds:
            current, ahead = ahead, next(chunks, None)  # chunk k+1 is encoded while k is scored
            yield lo, *current.result()  # type: ignore[union-attr]


def prefetched(
    model: RewardModel, batches: Iterable[tuple[list[int], list[Encoded]]], depth: int = 2
) -> Iterator[tuple[list[int], list[Encoded], Any]]:
    """``(indices, batch, inputs)`` with up to ``depth`` batches collated ahead in a worker
    thread, so padding and host-to-device copies overlap the forward passes (``inputs`` is None
    where the adapter prepares nothing ahead: see ``RewardModel.collate``)."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="rmeval-collate") as pool:
        ahead: deque = deque()
        for idx, batch in batches:
            ahead.append((idx, batch, pool.submit(model.collate, batch)))
            if len(ahead) > depth:
                first, items, fut = ahead.popleft()
                yield first, items, _collated(fut)
        while ahead:
            first, items, fut = ahead.popleft()
            yield first, items, _collated(fut)


def _collated(fut: Any) -> Any:
    """The collated inputs, or None after out of memory (the batch then backs off)."""
    try:
        return fut.result()
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise
        free_device_memory()
        return None


def _forward(model: RewardModel, batch: list[Encoded], inputs: Any) -> list[Score]:
    """One batch; out of memory -> drop the collated tensors and halve with back-off."""
    if inputs is not None:
        try:
            return model.forward_collated(inputs, batch)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            del inputs
            free_device_memory()
    return run_with_backoff(
        batch,
        model.forward,
        on_oom=lambda: log.warning("out of memory: halving the batch and retrying"),
    )


def header_line(model: RewardModel, budget: int, n_texts: int) -> str:
    """One line before a model scores: texts, device, dtype, token budget, packing."""
    execution = model.execution()
    packing = execution.get("packing")
    pack = "n/a" if packing is None else ("on" if packing else "off")
    return (
        f"scoring {model.spec}: {n_texts:,} texts, device {execution.get('device') or 'n/a'}, "
        f"dtype {model.describe().get('dtype') or 'n/a'}, token budget {budget:,}, "
        f"packing {pack}"
    )


class Scorer:
    """One model's scores over one or more passes: each pass looks its texts up in the cache,
    forwards the missing ones in planned batches and caches them; ``stats`` add up.

    ``total`` (the texts of every pass, for a run scored chunk by chunk) makes one progress bar
    count every text, cached or not; without it each pass shows the texts it forwards.
    ``keep_keys=False`` leaves ``stats.scored_keys`` empty (a streamed run keeps no per-text
    state). ``cache_only`` refuses a pass whose texts are not all cached (``rmeval score``).
    """

    def __init__(
        self,
        model: RewardModel,
        cache: ScoreCache,
        *,
        batch_tokens: int | None = None,
        progress: bool | str = True,
        shard: tuple[int, int] = (0, 1),
        examples_per_text: float = 1.0,
        total: int | None = None,
        keep_keys: bool = True,
        cache_only: bool = False,
    ) -> None:
        self.model, self.cache, self.shard = model, cache, shard
        self.batch_tokens, self.progress, self.total = batch_tokens, progress, total
        self.examples_per_text, self.keep_keys, self.cache_only = (
            examples_per_text,
            keep_keys,
            cache_only,
        )
        self.stats = ScoringStats()
        self._bar: Progress | None = None
        self._budget: int | None = None
        self._announced = False

    def scores(self, requests: Sequence[ScoreRequest]) -> dict[str, Score]:
        """Scores for every request (by key), computing only what the cache lacks.

        The batch plan covers all of the pass's requests, cached or not, so a resumed run
        rebuilds the same batches and recomputes exactly the batches that never committed: its
        scores equal an uninterrupted run bit for bit. ``shard=(rank, world)`` scores every
        world-th batch."""
        reqs = unique_requests(requests)
        keys = [r.key for r in reqs]
        found = self.cache.get_many(self.model.fingerprint(), keys)
        self.stats.requested += len(reqs)
        self.stats.cached += len(found)
        if self.total is not None:
            self._progress(self.total).update(len(found))
        if len(found) < len(reqs):
            if self.cache_only:
                self._refuse_missing(len(reqs) - len(found), len(reqs))
            self._forward_missing(reqs, keys, found)
        elif reqs and self.total is None:
            log.info(f"scoring {self.model.spec}: all {len(reqs):,} texts are in the cache")
        return found

    def _refuse_missing(self, missing: int, unique: int) -> None:
        raise RmevalError(
            f"{missing} of {unique} texts for {self.model.spec} are not in the cache "
            f"{self.cache.path}; run `rmeval run` with the same model, tasks and flags first."
        )

    def _progress(self, total: int) -> Progress:
        if self._bar is None:
            desc = f"scoring {self.model.spec}"
            self._bar = Progress(total, desc, self.progress, self.examples_per_text)
        return self._bar

    def _forward_missing(
        self, reqs: list[ScoreRequest], keys: list[str], found: dict[str, Score]
    ) -> None:
        import time

        start = time.perf_counter()
        model, fingerprint, stats = self.model, self.model.fingerprint(), self.stats
        if self._budget is None:
            self._budget = resolve_budget(model, self.cache, self.batch_tokens)
        rank, world = self.shard
        todo = (
            (idx, batch)
            for i, (idx, batch) in enumerate(planned(model, reqs, keys, self._budget))
            if i % world == rank and any(keys[j] not in found for j in idx)
        )
        missing = -(-(len(reqs) - len(found)) // world)  # this rank's share, before planning
        bar = self._progress(self.total) if self.total is not None else self._progress(missing)
        try:
            for idx, batch, inputs in prefetched(model, todo):
                if not self._announced:  # the plan is made: packing is decided
                    self._announced = True
                    n_texts = self.total if self.total is not None else missing
                    log.info(header_line(model, self._budget, n_texts))
                scores = _forward(model, batch, inputs)
                if len(scores) != len(batch):
                    raise RmevalError(
                        f"model {model.spec} returned {len(scores)} scores for {len(batch)} texts."
                    )
                fresh = [(keys[j], s) for j, s in zip(idx, scores) if keys[j] not in found]
                self.cache.put_many(fingerprint, fresh)
                found.update(fresh)
                if self.keep_keys:
                    stats.scored_keys.update(k for k, _ in fresh)
                n_tok = sum(e.n_tokens for e in batch)
                stats.scored += len(batch)
                stats.fresh += len(fresh)
                stats.tokens += n_tok
                bar.update(len(fresh), n_tok)  # the total counts texts not yet cached
        finally:
            if self.total is None:
                self.close()
            stats.seconds += time.perf_counter() - start

    def close(self) -> None:
        """End the progress bar (and, for a run scored chunk by chunk, say when every text
        was cached)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self.total is not None and self.stats.requested and not self.stats.fresh:
            log.info(
                f"scoring {self.model.spec}: all {self.stats.requested:,} texts are in the cache"
            )


def score_requests(
    model: RewardModel,
    requests: Sequence[ScoreRequest],
    cache: ScoreCache,
    *,
    batch_tokens: int | None = None,
    progress: bool | str = True,
    shard: tuple[int, int] = (0, 1),
    examples_per_text: float = 1.0,
) -> tuple[dict[str, Score], ScoringStats]:
    """Scores for every request (by key) in one pass of a :class:`Scorer`, and its stats."""
    scorer = Scorer(
        model,
        cache,
        batch_tokens=batch_tokens,
        progress=progress,
        shard=shard,
        examples_per_text=examples_per_text,
    )
    return scorer.scores(requests), scorer.stats
