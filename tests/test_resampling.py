"""Bootstrap means drawn in pieces: bit for bit those of one ``n_boot x n`` draw, for every kind
of values (exact small multiples of a power of two, few distinct values, any floats, NaN)."""

import numpy as np
import pytest
from rmeval.harness import metrics, resampling


def one_matrix(arr: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """The formula before the scale work: every resample at once, numpy's own mean."""
    rng = np.random.default_rng(seed)
    return arr[rng.integers(0, arr.size, (n_boot, arr.size))].mean(axis=1)


def bits(a: np.ndarray) -> list[int]:
    return np.asarray(a, dtype=np.float64).view(np.int64).tolist()


_g = np.random.default_rng(3)
KINDS = {
    "zero-one": ((_g.random(300) < 0.6).astype(float), "exact"),
    "halves": (_g.choice([0.0, 0.5, 1.0], 300), "exact"),
    "signed 1/256 steps": (_g.integers(-32767, 32768, 300) / 256.0, "exact"),
    "thirds": (_g.choice([0.0, 1 / 3, 2 / 3, 1.0], 300), "coded"),
    "arbitrary floats": (_g.normal(size=300) * 1e3, "coded"),
    "huge and tiny": (_g.choice([1e300, -1e300, 3.0, 5e-324], 300), "coded"),
    "negative zeros": (np.full(50, -0.0), "coded"),
    "both zeros": (np.array([-0.0, 0.0, 1.0] * 40), "plain"),
    "nan and inf": (np.array([1.0, np.nan, 0.0, np.inf, -np.inf] * 20), "coded"),
    "two nan payloads": (np.array([1.0, np.nan, -np.nan, 0.0] * 20), "plain"),
    "one value": (np.array([0.7]), "coded"),
}


def path_of(arr: np.ndarray) -> str:
    if resampling.exact_integers(arr) is not None:
        return "exact"
    if arr.size >= resampling.CODED_MIN and resampling.value_codes(arr) is not None:
        return "coded"
    return "plain"


@pytest.fixture
def coded_from_any_size(monkeypatch):
    monkeypatch.setattr(resampling, "CODED_MIN", 1)  # the coded path at test sizes


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_values_equals_the_one_matrix_draw(kind, coded_from_any_size):
    arr, path = KINDS[kind]
    assert path_of(arr) == path  # each summation path is exercised
    expected = bits(one_matrix(arr, 40, seed=9))
    n = arr.size
    for chunk in (1, 7, max(1, n - 1), n, 3 * n + 1, None):  # pieces of a row, rows per draw
        got = metrics.resampled_means(arr, n_boot=40, seed=9, chunk_elements=chunk)
        assert bits(got) == expected, (kind, chunk)


def test_more_distinct_values_than_codes_take_the_plain_path(monkeypatch, coded_from_any_size):
    arr = np.random.default_rng(8).normal(size=200)
    monkeypatch.setattr(resampling, "MAX_CODES", 100)
    assert path_of(arr) == "plain"
    got = metrics.resampled_means(arr, n_boot=30, seed=3, chunk_elements=64)
    assert bits(got) == bits(one_matrix(arr, 30, seed=3))


@pytest.mark.parametrize("values", [[0.0, 1.0], [0.0, 1 / 3, 1.0], None])
def test_a_resample_longer_than_a_draw_equals_the_one_matrix_draw(values, coded_from_any_size):
    n = metrics.CHUNK_ELEMENTS + 4465  # the default chunk cuts every resample in two
    rng = np.random.default_rng(1)
    arr = rng.normal(size=n) if values is None else rng.choice(values, n)
    got = metrics.resampled_means(arr, n_boot=6, seed=2)
    assert bits(got) == bits(one_matrix(arr, 6, seed=2))


def test_other_dtypes_and_empty_inputs_keep_numpys_mean():
    ints = np.arange(30) % 4  # int64: numpy's mean casts in buffers; that path is kept
    assert bits(metrics.resampled_means(ints, n_boot=20, seed=1)) == bits(one_matrix(ints, 20, 1))
    assert metrics.resampled_means(np.array([0.5]), n_boot=0).size == 0


def test_exact_integers_are_the_values_scaled_by_a_power_of_two():
    ints, k = resampling.exact_integers(np.array([0.0, 0.5, 1.0, 0.25]))
    assert (ints.tolist(), k, ints.dtype) == ([0, 2, 4, 1], 2, np.int8)
    ints, k = resampling.exact_integers(np.array([300.0, -1.5]))
    assert (ints.tolist(), k, ints.dtype) == ([600, -3], 1, np.int16)
    assert resampling.exact_integers(np.array([32768.0])) is None  # beyond int16
    assert resampling.exact_integers(np.array([2.0**-9])) is None  # a finer step than 2**-8
    assert resampling.exact_integers(np.array([1.0, -0.0])) is None  # -0.0 sums to -0.0


def test_a_hand_computed_resample_mean():
    # n = 3 values (0, 0.5, 1): the mean of a resample is (sum of the drawn values) / 3
    arr = np.array([0.0, 0.5, 1.0])
    draws = np.random.default_rng(4).integers(0, 3, (5, 3))
    by_hand = [(sum(arr[i] for i in row) / 3) for row in draws.tolist()]
    assert metrics.resampled_means(arr, n_boot=5, seed=4).tolist() == by_hand


def test_no_draw_exceeds_the_chunk_and_no_resample_matrix_is_built(monkeypatch):
    assert path_of(np.full(resampling.CODED_MIN - 1, 1 / 3)) == "plain"  # small: in the cache
    arr = np.random.default_rng(0).choice([0.0, 1 / 3], 1000)
    sizes = []
    real = np.random.default_rng

    class Spy:
        def __init__(self, seed):
            self.rng = real(seed)

        def integers(self, lo, hi, size):
            sizes.append(int(np.prod(size)))
            return self.rng.integers(lo, hi, size)

    monkeypatch.setattr(resampling.np.random, "default_rng", Spy)
    got = metrics.resampled_means(arr, n_boot=7, seed=5, chunk_elements=300)
    assert sizes == [300, 300, 300, 100] * 7  # each resample in pieces of at most 300
    monkeypatch.undo()
    assert bits(got) == bits(one_matrix(arr, 7, seed=5))
