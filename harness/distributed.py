"""Data-parallel scoring with ``torch.distributed`` (launched by ``torchrun`` or ``accelerate``).

Every rank builds the same batch plan over all requests (one agreed token budget) and scores
every world-th batch into its own cache file ``scores.rank{r}.sqlite``, reading what is already
in the main cache. After a barrier rank 0 merges the rank files into the main cache, then
evaluates and writes the result files from it; the other ranks write nothing. The batches are
those of a single-process run, so the scores, and every number derived from them, are equal.
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

from rmeval.harness.adapters.hub import remembered_hashes
from rmeval.harness.cache import ScoreCache
from rmeval.harness.records import Score
from rmeval.harness.scoring import ScoringStats

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


def _rank_model_args(args: dict[str, Any], local_rank: int) -> dict[str, Any]:
    """One GPU per rank: ``device`` auto/cuda becomes ``cuda:<local rank>`` when CUDA exists."""
    import torch

    args = dict(args)
    if torch.cuda.is_available() and args.get("device") in (None, "auto", "cuda"):
        torch.cuda.set_device(local_rank)
        args["device"] = f"cuda:{local_rank}"
    return args


def _agreed_budget(model: Any, main: ScoreCache, batch_tokens: int | None) -> int:
    """The token budget every rank plans with: the flag, the recorded one, or the smallest
    automatic budget over the ranks (free memory differs between GPUs)."""
    import torch
    import torch.distributed as dist

    if batch_tokens:
        return int(batch_tokens)
    stored = main.get_blob("batch_tokens", model.fingerprint())
    if stored:
        return int(stored)
    auto = getattr(model, "auto_batch_tokens", None)
    local = int(auto()) if callable(auto) else int(model.default_batch_tokens)
    on_gpu = dist.get_backend() == "nccl"
    t = torch.tensor([local], device=f"cuda:{torch.cuda.current_device()}" if on_gpu else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return int(t.item())


def _score_shard(
    model: Any, tasks: Sequence[Any], main: ScoreCache, opts: Any
) -> tuple[int, ScoringStats]:
    """Score this rank's batches into its own file; returns the agreed budget and its stats."""
    import torch.distributed as dist
    from rmeval.harness.scoring import score_requests

    rank, world = dist.get_rank(), dist.get_world_size()
    budget = _agreed_budget(model, main, opts.batch_tokens)
    own = ScoreCache(rank_cache_path(opts.cache_dir, rank))
    try:
        requests = [r for t in tasks for r in t.all_requests()]
        _, stats = score_requests(
            model,
            requests,
            ShardCache(main, own),
            batch_tokens=budget,
            progress=opts.progress and rank == 0,
            shard=(rank, world),
        )
    finally:
        own.close()
    log.info("rank %d/%d scored %d texts in %.1f s", rank, world, stats.scored, stats.seconds)
    return budget, stats


def _gathered_stats(stats: ScoringStats, seconds: float) -> ScoringStats | None:
    """On rank 0, the pass of all ranks together: every rank's newly scored texts and the
    wall time until the slowest rank finished; None on the other ranks."""
    import torch.distributed as dist

    parts: list[Any] | None = [None] * dist.get_world_size() if dist.get_rank() == 0 else None
    mine = (sorted(stats.scored_keys), stats.scored, stats.tokens)
    dist.gather_object(mine, parts, dst=0)
    if parts is None:
        return None
    total = ScoringStats(requested=stats.requested, seconds=seconds)
    for keys, scored, tokens in parts:
        total.scored_keys.update(keys)
        total.scored += scored
        total.tokens += tokens
    total.cached = total.requested - len(total.scored_keys)
    return total


def run_distributed(opts: Any) -> list[Path]:
    """``rmeval run`` under a launcher: shard the scoring, merge once, rank 0 writes results."""
    import torch
    import torch.distributed as dist
    from rmeval.harness import runner
    from rmeval.harness.results import check_writable

    check_writable(opts.output_dir)  # every rank, before the group forms: none waits forever
    rank, world, local = launch_env()
    use_nccl = torch.cuda.is_available() and opts.model_args.get("device") != "cpu"
    timeout = timedelta(minutes=float(os.environ.get("RMEVAL_DIST_TIMEOUT_MIN", "60")))
    dist.init_process_group("nccl" if use_nccl else "gloo", timeout=timeout)
    main: ScoreCache | None = None
    try:
        if rank == 0:  # one process creates the schema, then the others open it
            main = ScoreCache(Path(opts.cache_dir) / "scores.sqlite")
        dist.barrier()
        main = main or ScoreCache(Path(opts.cache_dir) / "scores.sqlite")
        tasks = runner.build_tasks(opts.tasks, opts)
        for t in tasks:
            t.examples()
        written: list[Path] = []
        for spec in opts.models:
            with remembered_hashes(main):  # a second run does not re-read the weights
                others = [o for o in opts.models if o != spec]  # as in a single-process run
                model = runner.build_model(spec, _rank_model_args(opts.model_args, local), others)
            runner.checked_result_dir(model, tasks, opts)  # every rank refuses, before scoring
            t0 = time.perf_counter()
            budget, stats = _score_shard(model, tasks, main, opts)
            dist.barrier()
            scored = _gathered_stats(stats, time.perf_counter() - t0)
            if rank == 0:
                parts = [rank_cache_path(opts.cache_dir, r) for r in range(world)]
                merge_caches(main.path, parts)
                if not opts.batch_tokens:
                    main.put_blob("batch_tokens", model.fingerprint(), str(budget))
                written.extend(runner.evaluate_model(model, tasks, main, opts, scored))
            dist.barrier()
        return written
    finally:
        if main is not None:
            main.close()
        dist.destroy_process_group()
