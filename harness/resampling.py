"""Bootstrap means of up to millions of values in bounded memory, bit for bit those of one draw.

The resamples are the rows of ``default_rng(seed).integers(0, n, (n_boot, n))``. They are drawn
a piece at a time (at most ``chunk`` indices, a few resamples or part of one): the generator's
stream does not depend on how it is cut, since each index takes its own 32-bit draws. Each
resample's mean is then computed so that it equals numpy's ``arr[idx].mean()`` of that row:

- **exact**: every value is ``m * 2**-k`` for a small integer ``m`` (credits 0, 0.5, 1, ...)
  and ``n * max|m| <= 2**53``. Every partial sum of such values is exact in float64, so numpy's
  pairwise sum equals the integer sum in any order; the integers ``m`` are gathered from an
  int8/int16 array that stays in the CPU cache and summed in int64. The mean is that sum
  (exact as a float64, times ``2**-k``) divided by ``n``: the one rounding numpy's mean makes.
- **coded**: at least :data:`CODED_MIN` values, at most 65,536 distinct ones (1/3, 2/3, ...):
  small codes are gathered (cache resident), then mapped to their values; the row is summed by
  numpy's own pairwise sum.
- **plain**: any other float64 array: gathered into a preallocated row, numpy's pairwise sum.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

EXACT_LIMIT = 1 << 53
"""Integers up to this magnitude are exact in float64."""
MAX_SCALE = 8
"""Values that are multiples of ``2**-MAX_SCALE`` at most take the exact path."""
MAX_CODES = 1 << 16
CODED_MIN = 1 << 18
"""Values gathered as codes only from this many on (2 MiB of float64, beyond the L2 cache):
below, the values are in the cache already and the second gather costs more than it saves."""
MIN_PIECE = 256
"""A resample is never cut finer than this (a draw per index would cost more than it saves)."""


def resampled_means(arr: np.ndarray, n_boot: int, seed: int, chunk: int) -> np.ndarray:
    """The ``n_boot`` bootstrap means of a 1-D float64 ``arr`` (``n >= 1``), drawing at most
    ``chunk`` indices at a time (see the module docstring for why they are bit-identical)."""
    n = arr.size
    rng = np.random.default_rng(seed)
    if n_boot == 0:
        return np.empty(0, dtype=np.float64)
    exact = exact_integers(arr)
    if exact is not None:
        ints, scale = exact
        sums = _row_sums(ints, n_boot, chunk, rng, _integer_sum, np.int64)
        return (sums.astype(np.float64) * 2.0**-scale) / n
    coded = value_codes(arr) if n >= CODED_MIN else None
    table, source = coded if coded is not None else (None, arr)
    size = min(max(1, chunk // n), n_boot) * n
    return _row_sums(source, n_boot, chunk, rng, _float_sum(table, size)) / n


def exact_integers(arr: np.ndarray) -> tuple[np.ndarray, int] | None:
    """``(m, k)`` with ``arr == m * 2**-k`` exactly, ``m`` in int8 or int16, when every partial
    sum of ``n`` such values is an exact float64; None otherwise.

    Negative zero is excluded: a sum of negative zeros is -0.0, the integer sum +0.
    """
    if not np.isfinite(arr).all() or np.any((arr == 0) & np.signbit(arr)):
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        finest = arr * 2.0**MAX_SCALE
        if not np.array_equal(finest, np.round(finest)):
            return None  # not at the finest step: at no coarser one either (one pass, not nine)
        for k in range(MAX_SCALE + 1):
            m = arr * 2.0**k  # exact: a power of two (overflow fails the bound below)
            if not np.array_equal(m, np.round(m)):
                continue
            top = float(np.abs(m).max())
            if top > np.iinfo(np.int16).max or top * arr.size > EXACT_LIMIT:
                return None
            dtype = np.int8 if top <= np.iinfo(np.int8).max else np.int16
            return m.astype(dtype), k
    return None


def value_codes(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(table, codes)`` with ``table[codes]`` equal to ``arr`` bit for bit and codes in uint8
    or uint16; None when ``arr`` has more than :data:`MAX_CODES` distinct values."""
    if np.unique(arr[: 2 * MAX_CODES]).size > MAX_CODES:
        return None  # too many distinct values already among the first ones: no full sort
    table, codes = np.unique(arr, return_inverse=True)
    if table.size > MAX_CODES:
        return None
    dtype = np.uint8 if table.size <= 256 else np.uint16
    codes = codes.reshape(-1).astype(dtype)
    if not np.array_equal(table[codes].view(np.int64), arr.view(np.int64)):
        return None  # NaN payloads or -0.0 merged by unique: not the same bits
    return table, codes


Summer = Callable[[np.ndarray], np.ndarray]
"""Row sums of a gathered ``(k, n)`` block of source values."""
Draw = tuple[int, int, int, np.ndarray]
"""(first resample, resamples, start within the resample, indices) of one draw."""


def _row_sums(
    source: np.ndarray,
    n_boot: int,
    chunk: int,
    rng: np.random.Generator,
    summed: Summer,
    dtype: type = np.float64,
) -> np.ndarray:
    """``summed`` of every resample of ``source`` (indices drawn by :func:`_draws`), the values
    gathered into one preallocated buffer (no page faults per draw)."""
    n = source.size
    k_max = min(max(1, chunk // n), n_boot)
    gathered = np.empty(k_max * n, dtype=source.dtype)
    sums = np.empty(n_boot, dtype=dtype)
    for lo, k, start, idx in _draws(rng, n, n_boot, chunk):
        if idx.ndim == 2:  # whole resamples
            block = gathered[: k * n].reshape(k, n)
            source.take(idx, out=block)
            sums[lo : lo + k] = summed(block)
        else:
            source.take(idx, out=gathered[start : start + idx.size])
            if start + idx.size == n:
                sums[lo] = summed(gathered[:n].reshape(1, n))[0]
    return sums


def _draws(rng: np.random.Generator, n: int, n_boot: int, chunk: int) -> Iterator[Draw]:
    """Every draw in the generator's order: whole resamples when they fit in ``chunk``
    indices, else each resample in pieces of ``max(chunk, MIN_PIECE)``."""
    rows = max(1, chunk // n)
    for lo in range(0, n_boot, rows):
        k = min(rows, n_boot - lo)
        if k * n <= chunk:
            yield lo, k, 0, rng.integers(0, n, (k, n))
            continue
        step = max(chunk, MIN_PIECE)
        for start in range(0, n, step):
            yield lo, 1, start, rng.integers(0, n, min(step, n - start))


def _integer_sum(block: np.ndarray) -> np.ndarray:
    return np.add.reduce(block, axis=1, dtype=np.int64)


def _float_sum(table: np.ndarray | None, size: int) -> Summer:
    """Pairwise float64 row sums of values, or of ``table[codes]`` for a block of codes."""
    if table is None:
        return lambda block: np.add.reduce(block, axis=1)
    values = np.empty(size, dtype=np.float64)

    def coded_sum(block: np.ndarray) -> np.ndarray:
        return np.add.reduce(
            table.take(block, out=values[: block.size].reshape(block.shape)), axis=1
        )

    return coded_sum
