"""Length-sorted token-budget batches with out-of-memory back-off."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def plan_batches(
    lengths: Sequence[int],
    budget: int,
    tiebreak: Sequence[str] | None = None,
    max_spread: float = 1.25,
) -> list[list[int]]:
    """Index batches, longest first, each with ``rows × longest row ≤ budget`` (≥ 1 row) and
    ``longest ≤ max_spread × shortest`` (so padding stays under ~20% of a batch on long-tailed
    length mixes, where one long text would otherwise pad a whole batch of short ones).

    The order is a pure function of the lengths (ties broken by ``tiebreak``, e.g. content
    hashes), so a resumed run rebuilds exactly the same batches.
    """
    order = sorted(
        range(len(lengths)),
        key=lambda i: (-lengths[i], tiebreak[i] if tiebreak is not None else i),
    )
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = lengths[current[0]] if current else lengths[i]
        full = (len(current) + 1) * max(longest, 1) > budget
        if current and (full or longest > max_spread * max(lengths[i], 1)):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def plan_packed(
    lengths: Sequence[int], budget: int, tiebreak: Sequence[str] | None = None
) -> list[list[int]]:
    """Index batches for packed rows, longest first, each with ``sum of lengths ≤ budget``
    (≥ 1 item); a pure function of the lengths and ``tiebreak``, like :func:`plan_batches`."""
    order = sorted(
        range(len(lengths)),
        key=lambda i: (-lengths[i], tiebreak[i] if tiebreak is not None else i),
    )
    batches: list[list[int]] = []
    current: list[int] = []
    used = 0
    for i in order:
        if current and used + lengths[i] > budget:
            batches.append(current)
            current, used = [], 0
        current.append(i)
        used += lengths[i]
    if current:
        batches.append(current)
    return batches


def is_out_of_memory(exc: BaseException) -> bool:
    """True for allocator out-of-memory errors (``torch.OutOfMemoryError`` is a RuntimeError)."""
    if isinstance(exc, MemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def run_with_backoff(
    batch: Sequence[T], fn: Callable[[Sequence[T]], list], on_oom: Callable[[], None] | None = None
) -> list:
    """``fn(batch)``; on out-of-memory, split the batch in halves and retry each (down to 1 row)."""
    try:
        return fn(batch)
    except Exception as exc:
        if not is_out_of_memory(exc) or len(batch) == 1:
            raise
    free_device_memory()
    if on_oom is not None:
        on_oom()
    mid = len(batch) // 2
    return run_with_backoff(batch[:mid], fn, on_oom) + run_with_backoff(batch[mid:], fn, on_oom)


def free_device_memory() -> None:
    """Return cached CUDA blocks after an out-of-memory error (no-op without CUDA)."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
