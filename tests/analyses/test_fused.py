"""The compiled one-pass kernel (analyses.fused) and Moments.add_stored, against numpy, scipy and torch."""
import warnings

import numpy as np
import pytest
import torch

from analyses import fused
from analyses.tensor_stats import Moments
from tests.analyses.test_tensor_stats import ADVERSARIAL, _check_fast, _oracle

pytestmark = pytest.mark.skipif(not fused.available(), reason="numba is not installed")


def _stored(x: np.ndarray, dtype: str) -> np.ndarray:
    """float32 values -> the array a checkpoint of `dtype` stores (bf16: truncated bits, as make_7b writes)."""
    if dtype == "BF16":
        return (x.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    return x.astype(np.float16 if dtype == "F16" else np.float32)


def _values(stored: np.ndarray, dtype: str) -> np.ndarray:
    """torch's decoding of stored bits (independent of fused.decode), as float64."""
    t = torch.from_numpy(stored.view(np.int16 if dtype != "F32" else np.int32).copy())
    t = t.view({"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}[dtype])
    return t.double().numpy()


@pytest.mark.parametrize("dtype", fused.DTYPES)
def test_power_sums_match_float64_numpy(dtype):
    rng = np.random.default_rng(0)
    x = np.concatenate([0.02 * rng.standard_normal(100_003), [6e-8, -6e-8, 1e-5, 60000.0, -60000.0, 0.0, -0.0]])
    stored = _stored(x, dtype)
    v = _values(stored, dtype)
    np.testing.assert_array_equal(fused.decode(stored, dtype), v.astype(np.float32))
    for shift in (0.0, 0.01, -3.0):
        s = fused.power_sums(stored, dtype, shift)
        assert s.finite and s.lo == v.min() and s.hi == v.max()
        for k, got in enumerate(s[:4], 1):
            terms = (v - shift) ** k
            assert abs(got - terms.sum()) <= 1e-13 * np.abs(terms).sum(), (k, shift)


@pytest.mark.parametrize("dtype", ["BF16", "F16"])
def test_min_and_max_of_every_16_bit_pattern(dtype):
    """Every finite value alone gives itself as min and max (the order keys' inverse, exhaustively),
    and the whole finite range gives its two ends; -0.0 and +0.0 both come back as zero."""
    patterns = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    stored = patterns if dtype == "BF16" else patterns.view(np.float16)
    v = _values(stored, dtype)
    finite = np.isfinite(v)
    for i in np.flatnonzero(finite)[::7]:  # every 7th pattern: ~9,000 calls
        s = fused.power_sums(stored[i:i + 1], dtype, 0.0)
        assert s.finite and s.lo == s.hi == v[i], hex(i)
    s = fused.power_sums(stored[finite], dtype, 0.0)
    assert s.finite and (s.lo, s.hi) == (v[finite].min(), v[finite].max())


@pytest.mark.parametrize("dtype", fused.DTYPES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [0, 17, 4095, 4096 + 31])  # first, mid-vector, a chunk's last, the tail
def test_a_nan_or_inf_anywhere_is_seen(dtype, bad, where):
    x = np.linspace(-1, 1, 4096 + 32)
    x[where] = bad
    assert not fused.power_sums(_stored(x, dtype), dtype, 0.0).finite


@pytest.mark.parametrize("dtype", fused.DTYPES)
@pytest.mark.parametrize("dist", list(ADVERSARIAL))
def test_add_stored_is_float64_accurate(dtype, dist):
    """The compiled path sums in float64: 1000x inside the float32 path's documented bound."""
    x = ADVERSARIAL[dist](np.random.default_rng(11), 600_000)
    if dtype == "F16" and np.abs(x).max() > 60_000:
        pytest.skip("outside float16's range")
    stored = _stored(x, dtype)
    v = _values(stored, dtype)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy on the constant ones
        want = _oracle(v)
    for chunk in (1 << 16, 1 << 18, 300_001):
        acc = Moments(fast=True)
        for i in range(0, stored.size, chunk):
            acc.add_stored(stored[i:i + chunk], dtype)
        assert acc.fast_chunks == -(-stored.size // chunk), "every chunk should take the compiled path"
        r = acc.result()
        assert r.count == v.size and (r.min, r.max) == (want["min"], want["max"])
        if v.min() == v.max():  # offsets that round to one value in 16 bits: no shape (scipy: nan)
            assert (r.mean, r.std, r.skew, r.kurtosis) == (v[0], 0.0, None, None)
            continue
        assert abs(r.mean - want["mean"]) <= 1e-8 * want["std"]
        assert r.std == pytest.approx(want["std"], rel=1e-8)
        assert abs(r.skew - want["skew"]) <= 1e-8 * (1 + abs(want["skew"]))
        assert abs(r.kurtosis - want["kurtosis"]) <= 1e-8 * (want["kurtosis"] + 3)


@pytest.mark.parametrize("dtype", fused.DTYPES)
def test_add_stored_counts_nan_and_inf_through_the_exact_path(dtype):
    rng = np.random.default_rng(3)
    x = 0.02 * rng.standard_normal(1_000_000)
    x[[5, 300_000]] = np.nan  # chunks 0 and 1 (of 4) hold a NaN, chunk 2 an Inf, chunk 3 is clean
    x[600_000] = -np.inf
    stored = _stored(x, dtype)
    acc = Moments(fast=True)
    for i in range(0, stored.size, 250_000):
        acc.add_stored(stored[i:i + 250_000], dtype)
    assert acc.fast_chunks == 1
    r = acc.result()
    assert (r.nan, r.inf) == (2, 1)
    _check_fast(r, _values(stored, dtype))


def test_add_stored_without_numba_decodes_and_gives_the_numpy_answer(monkeypatch):
    rng = np.random.default_rng(4)
    stored = _stored(1 + 0.05 * rng.standard_normal(300_000), "BF16")
    monkeypatch.setattr(fused, "_kernels", {})  # as on an install where numba is missing
    assert not fused.available()
    acc = Moments(fast=True).add_stored(stored, "BF16")
    assert acc.result() == Moments(fast=True).add(fused.decode(stored, "BF16")).result()


def test_edge_chunks():
    const = Moments(fast=True).add_stored(_stored(np.full(1000, 0.5), "BF16"), "BF16").result()
    assert (const.mean, const.std, const.skew, const.kurtosis) == (0.5, 0.0, None, None)
    one = Moments(fast=True).add_stored(np.array([2.5], np.float32), "F32").result()
    assert (one.count, one.mean, one.min, one.max) == (1, 2.5, 2.5, 2.5)
    empty = Moments(fast=True).add_stored(np.zeros(0, np.uint16), "BF16").result()
    assert empty.count == 0 and empty.mean is None
