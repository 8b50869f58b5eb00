"""Length-sorted token-budget batches with out-of-memory back-off."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def plan_batches(
    lengths: Sequence[int], budget: int, tiebreak: Sequence[str] | None = None
) -> list[list[int]]:
    """Index batches, longest first, each with ``rows × longest row ≤ budget`` (≥ 1 row).

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
        if current and (len(current) + 1) * max(longest, 1) > budget:
            batches.append(current)
            current = []
        current.append(i)
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
    if on_oom is not None:
        on_oom()
    mid = len(batch) // 2
    return run_with_backoff(batch[:mid], fn, on_oom) + run_with_backoff(batch[mid:], fn, on_oom)
