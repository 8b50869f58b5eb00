"""How one run spreads its scoring over processes: one process, or data-parallel ranks.

``runner.run`` takes one of these strategies (``sharding`` picks it from the launcher's
environment) and is otherwise the same path. Under ``torchrun`` or ``accelerate launch`` every
rank builds the same batch plan over all requests (one agreed token budget) and scores every
world-th batch into its own cache file ``scores.rank{r}.sqlite``, reading what is already in the
main cache. After a barrier rank 0 merges the rank files into the main cache, then evaluates and
writes the result files from it; the other ranks write nothing. The batches are those of a
single-process run, so the scores, and every number derived from them, are equal.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from rmeval.harness.adapters.base import RewardModel
from rmeval.harness.cache import ScoreCache
from rmeval.harness.records import Score
from rmeval.harness.scoring import ScoringStats, resolve_budget, score_requests
from rmeval.harness.task import Task

log = logging.getLogger(__name__)


def launch_env() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from the launcher's environment; ``(0, 1, 0)`` alone."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    rank = int(os.environ.get("RANK", "0") or 0)
    local = int(os.environ.get("LOCAL_RANK", str(rank)) or 0)
    return rank, world, local


class ShardCache:
    """The cache one rank scores into: reads the main cache and its own file, writes its own."""

    def __init__(self, main: ScoreCache, own: ScoreCache) -> None:
        self.main, self.own, self.path = main, own, own.path

    def get_many(self, fingerprint: str, keys: Sequence[str]) -> dict[str, Score]:
        return self.own.get_many(fingerprint, keys) | self.main.get_many(fingerprint, keys)

    def put_many(self, fingerprint: str, items: Iterable[tuple[str, Score]]) -> None:
        self.own.put_many(fingerprint, items)

    def get_blob(self, namespace: str, key: str) -> str | None:
        return self.main.get_blob(namespace, key)

    def put_blob(self, namespace: str, key: str, value: str) -> None:
        self.own.put_blob(namespace, key, value)


def rank_cache_path(cache_dir: str | Path, rank: int) -> Path:
    """Where rank ``rank`` writes its scores."""
    return Path(cache_dir) / f"scores.rank{rank}.sqlite"


def merge_caches(main: Path, parts: Sequence[Path]) -> int:
    """Copy every score of ``parts`` into ``main`` (first write wins), then delete the parts.

    Returns the number of rows read from the parts."""
    n = 0
    db = sqlite3.connect(main, timeout=60)
    try:
        for part in parts:
            if not part.exists():
                continue
            db.execute("ATTACH DATABASE ? AS part", (str(part),))
            with db:
                n += db.execute("SELECT COUNT(*) FROM part.scores").fetchone()[0]
                db.execute("INSERT OR IGNORE INTO scores SELECT * FROM part.scores")
            db.execute("DETACH DATABASE part")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{part}{suffix}").unlink(missing_ok=True)
    finally:
        db.close()
    return n


class SingleProcess:
    """The default strategy: this process scores every request into the main cache."""

    rank = 0
    world = 1

    def __enter__(self) -> SingleProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def open_cache(self, cache_dir: str | Path) -> ScoreCache:
        """The main score cache of the run."""
        return ScoreCache(Path(cache_dir) / "scores.sqlite")

    def model_args(self, args: dict[str, Any]) -> dict[str, Any]:
        """``--model-args`` as this process builds its model with."""
        return dict(args)

    def score(
        self, model: RewardModel, tasks: Sequence[Task], cache: ScoreCache, opts: Any
    ) -> ScoringStats | None:
        """Scores computed before evaluation, as the stats of the whole pass; None: the
        evaluation scores what the cache lacks itself (one process)."""
        return None

    @property
    def writes_results(self) -> bool:
        """Whether this process evaluates and writes the result files."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for the other processes (none here)."""


class DataParallel(SingleProcess):
    """Data-parallel ranks under a launcher: shard the batches, merge once, rank 0 writes."""

    def __init__(self, device: Any = None) -> None:
        self.rank, self.world, self.local_rank = launch_env()
        self.device = device
        """The ``device`` model argument (``cpu`` keeps the ranks on gloo under CUDA)."""

    def __enter__(self) -> DataParallel:
        import torch
        import torch.distributed as dist

        self.nccl = torch.cuda.is_available() and self.device != "cpu"
        timeout = timedelta(minutes=float(os.environ.get("RMEVAL_DIST_TIMEOUT_MIN", "60")))
        dist.init_process_group("nccl" if self.nccl else "gloo", timeout=timeout)
        return self

    def __exit__(self, *exc: object) -> None:
        import torch.distributed as dist

        dist.destroy_process_group()

    def open_cache(self, cache_dir: str | Path) -> ScoreCache:
        """Rank 0 creates the schema, then the others open the same file."""
        main = super().open_cache(cache_dir) if self.rank == 0 else None
        self.barrier()
        return main or super().open_cache(cache_dir)

    def model_args(self, args: dict[str, Any]) -> dict[str, Any]:
        """One GPU per rank: ``device`` auto/cuda becomes ``cuda:<local rank>`` under CUDA."""
        import torch

        args = dict(args)
        if torch.cuda.is_available() and args.get("device") in (None, "auto", "cuda"):
            torch.cuda.set_device(self.local_rank)
            args["device"] = f"cuda:{self.local_rank}"
        return args

    def score(
        self, model: RewardModel, tasks: Sequence[Task], cache: ScoreCache, opts: Any
    ) -> ScoringStats | None:
        """This rank's batches into its own file; on rank 0, the merged pass of all ranks."""
        t0 = time.perf_counter()
        budget, stats = self._score_shard(model, tasks, cache, opts)
        self.barrier()
        scored = self._gathered(stats, time.perf_counter() - t0)
        if self.rank == 0:
            parts = [rank_cache_path(opts.cache_dir, r) for r in range(self.world)]
            merge_caches(cache.path, parts)
            if not opts.batch_tokens:
                cache.put_blob("batch_tokens", model.fingerprint(), str(budget))
        return scored

    def barrier(self) -> None:
        import torch.distributed as dist

        dist.barrier()

    def _score_shard(
        self, model: RewardModel, tasks: Sequence[Task], main: ScoreCache, opts: Any
    ) -> tuple[int, ScoringStats]:
        """Score this rank's batches into its own file; the agreed budget and the stats."""
        own = ScoreCache(rank_cache_path(opts.cache_dir, self.rank))
        try:
            shard = ShardCache(main, own)
            budget = resolve_budget(model, shard, opts.batch_tokens, agree=self._smallest)
            requests = [r for t in tasks for r in t.all_requests()] if model.scalar_scores else []
            _, stats = score_requests(
                model,
                requests,
                shard,
                batch_tokens=budget,
                progress=opts.progress and self.rank == 0,
                shard=(self.rank, self.world),
            )
        finally:
            own.close()
        done = (self.rank, self.world, stats.scored, stats.seconds)
        log.info("rank %d/%d scored %d texts in %.1f s", *done)
        return budget, stats

    def _smallest(self, local: int) -> int:
        """The smallest of every rank's automatic budget (free memory differs between GPUs)."""
        import torch
        import torch.distributed as dist

        device = f"cuda:{torch.cuda.current_device()}" if self.nccl else "cpu"
        t = torch.tensor([local], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MIN)
        return int(t.item())

    def _gathered(self, stats: ScoringStats, seconds: float) -> ScoringStats | None:
        """On rank 0, the pass of all ranks together: every rank's newly scored texts and the
        wall time until the slowest rank finished; None on the other ranks."""
        import torch.distributed as dist

        parts: list[Any] | None = [None] * self.world if self.rank == 0 else None
        dist.gather_object((sorted(stats.scored_keys), stats.scored, stats.tokens), parts, dst=0)
        if parts is None:
            return None
        total = ScoringStats(requested=stats.requested, seconds=seconds)
        for keys, scored, tokens in parts:
            total.scored_keys.update(keys)
            total.scored += scored
            total.tokens += tokens
        total.cached = total.requested - len(total.scored_keys)
        return total


def sharding(opts: Any) -> SingleProcess:
    """Data-parallel ranks under ``torchrun`` / ``accelerate launch`` (``rmeval run`` only:
    ``rmeval score`` reads the cache), else one process."""
    if launch_env()[1] > 1 and not opts.cache_only:
        return DataParallel(device=opts.model_args.get("device"))
    return SingleProcess()
