"""Streaming tensor statistics against scipy.stats and numpy (the oracles)."""
import numpy as np
import pytest
import scipy.stats

from analyses.tensor_stats import Moments, chunked_stats, tensor_stats


def _oracle(x: np.ndarray) -> dict:
    f = x[np.isfinite(x)].astype(np.float64)
    return {"count": f.size, "mean": f.mean(), "std": f.std(), "min": f.min(), "max": f.max(),
            "skew": scipy.stats.skew(f, bias=True), "kurtosis": scipy.stats.kurtosis(f, fisher=True, bias=True),
            "nan": int(np.isnan(x).sum()), "inf": int(np.isinf(x).sum())}


def _check(stats, x, rtol=1e-9):
    want = _oracle(x)
    assert stats.count == want["count"] and stats.nan == want["nan"] and stats.inf == want["inf"]
    assert stats.min == want["min"] and stats.max == want["max"]
    assert stats.mean == pytest.approx(want["mean"], rel=rtol, abs=1e-12 * want["std"])
    assert stats.std == pytest.approx(want["std"], rel=rtol, abs=1e-12)
    for key in ("skew", "kurtosis"):
        if np.isnan(want[key]):  # scipy's nan for a constant tensor
            assert getattr(stats, key) is None, key
        else:
            assert getattr(stats, key) == pytest.approx(want[key], rel=rtol, abs=1e-9), key


@pytest.mark.parametrize("dist", ["normal", "student_t", "lognormal", "offset"])
def test_matches_scipy_with_nan_and_inf(dist):
    rng = np.random.default_rng(7)
    n = 300_001  # several blocks plus a ragged end
    x = {"normal": lambda: rng.standard_normal(n),
         "student_t": lambda: rng.standard_t(4, n),
         "lognormal": lambda: rng.lognormal(0, 1, n),  # strongly skewed
         "offset": lambda: 1e4 + rng.standard_normal(n) * 1e-2,  # mean >> std: naive power sums fail here
         }[dist]().astype(np.float32)
    idx = rng.choice(n, 40, replace=False)
    x[idx[:20]] = np.nan
    x[idx[20:30]] = np.inf
    x[idx[30:]] = -np.inf
    _check(tensor_stats(x), x)


def test_chunking_does_not_change_the_answer():
    rng = np.random.default_rng(1)
    x = rng.standard_t(5, 100_000).astype(np.float32)
    x[::997] = np.nan
    whole = tensor_stats(x)
    for size in (1, 7, 4096, 33_333):
        parts = chunked_stats((x[i:i + size] for i in range(0, x.size, size)), shape=x.shape)
        for key in ("count", "nan", "min", "max"):
            assert getattr(parts, key) == getattr(whole, key)
        for key in ("mean", "std", "skew", "kurtosis"):
            assert getattr(parts, key) == pytest.approx(getattr(whole, key), rel=1e-10, abs=1e-13)


def test_merge_of_two_accumulators_equals_one_pass():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(5000), 3 + 2 * rng.standard_normal(70_000)
    merged = Moments().add(a).merge(Moments().add(b)).result()
    _check(merged, np.concatenate([a, b]))


def test_edge_cases():
    const = tensor_stats(np.full(1000, 0.1, np.float32))
    assert const.std == 0 and const.skew is None and const.kurtosis is None  # scipy gives nan here
    empty = tensor_stats(np.array([np.nan, np.inf, -np.inf], np.float32))
    assert (empty.count, empty.nan, empty.inf, empty.mean, empty.min) == (0, 1, 2, None, None)
    assert tensor_stats(np.zeros(0, np.float32)).count == 0
    ints = tensor_stats(np.arange(10, dtype=np.int64))
    assert ints.mean == 4.5 and ints.min == 0 and ints.max == 9


def test_real_weights_of_the_bundled_model(minilm_dir):
    from adapters import open_model
    model = open_model(minilm_dir)
    for name in model.raw_names()[:12] + model.raw_names()[-4:]:
        x = model.raw(name)
        stats = chunked_stats(model.checkpoint.iter_chunks(name, 50_000), name, x.shape)
        if x.size > 2:
            _check(stats, x, rtol=1e-8)
        else:
            assert stats.count == x.size


def test_float64_overflow_is_an_error_not_a_wrong_number():
    with pytest.raises(ValueError, match="too large"):
        tensor_stats(np.array([1e308, 1e308, 1.0]))


# --- the float32 fast path (Moments(fast=True), used by the whole-model scan) ---------------------

def _bf16(a: np.ndarray) -> np.ndarray:
    """Round toward zero to bf16 and back: the values a bf16 checkpoint decodes to."""
    return (a.astype(np.float32).view(np.uint32) & 0xFFFF0000).view(np.float32)


def _fast(x: np.ndarray, chunk: int) -> Moments:
    acc = Moments(fast=True)
    for i in range(0, x.size, chunk):
        acc.add(x[i:i + chunk])
    return acc


def _check_fast(stats, x):
    """The documented bound of the fast path (analyses/tensor_stats.py), against numpy and scipy."""
    want = _oracle(x)
    assert stats.count == want["count"] and stats.nan == want["nan"] and stats.inf == want["inf"]
    assert stats.min == want["min"] and stats.max == want["max"]
    assert abs(stats.mean - want["mean"]) <= 1e-6 * want["std"]
    assert stats.std == pytest.approx(want["std"], rel=1e-5)
    assert abs(stats.skew - want["skew"]) <= 1e-5 * (1 + abs(want["skew"]))
    assert abs(stats.kurtosis - want["kurtosis"]) <= 1e-5 * (want["kurtosis"] + 3)


ADVERSARIAL = {
    "weights": lambda r, n: _bf16(0.02 * r.standard_normal(n)),
    "norm_gains": lambda r, n: _bf16(1 + 0.05 * r.standard_normal(n)),  # |mean| >> std: shifted
    "offset_1000": lambda r, n: 1000 + 1e-3 * r.standard_normal(n),  # float32 spacing ~ std / 16
    "offset_1e4": lambda r, n: 1e4 + 1e-2 * r.standard_normal(n),
    "mean_equals_std": lambda r, n: 0.02 + 0.02 * r.standard_normal(n),
    "student_t3": lambda r, n: _bf16(0.02 * r.standard_t(3, n)),
    "student_t2.5": lambda r, n: r.standard_t(2.5, n),  # kurtosis ~ 1e4
    "lognormal": lambda r, n: r.lognormal(0, 2, n),  # skew ~ 100
    "cauchy": lambda r, n: r.standard_cauchy(n),  # kurtosis ~ 1e6
    "one_spike_in_1e5": lambda r, n: np.where(r.random(n) < 1e-5, 50.0, 0.02 * r.standard_normal(n)),
    "zeros_and_ones": lambda r, n: r.integers(0, 2, n).astype(np.float64),
    "tiny_scale": lambda r, n: 1e-6 * r.standard_normal(n),
    "uniform": lambda r, n: r.random(n),
}


@pytest.mark.parametrize("dist", list(ADVERSARIAL))
def test_fast_path_within_its_documented_bound(dist):
    rng = np.random.default_rng(11)
    x = ADVERSARIAL[dist](rng, 1_500_000).astype(np.float32)
    for chunk in (1 << 16, 1 << 18, 300_001):  # the scan's chunk, a larger one, and a ragged one
        acc = _fast(x, chunk)
        assert acc.fast_chunks == -(-x.size // chunk), "every chunk should take the fast path"
        _check_fast(acc.result(), x)


def test_fast_path_falls_back_for_nan_inf_and_keeps_counting_them():
    rng = np.random.default_rng(3)
    x = (0.02 * rng.standard_normal(1_000_000)).astype(np.float32)
    x[[5, 300_000]] = np.nan  # chunks 0 and 1 (of 4) hold a NaN, chunk 2 an Inf, chunk 3 is clean
    x[600_000] = -np.inf
    acc = _fast(x, 250_000)
    assert acc.fast_chunks == 1
    _check_fast(acc.result(), x)


def test_fast_path_falls_back_where_float32_would_be_inaccurate():
    rng = np.random.default_rng(4)
    # a head unlike the rest (so a bad shift): sorted values; the float64 path takes over, exactly
    x = np.sort(rng.standard_normal(400_000)).astype(np.float32) + 3
    acc = _fast(x, 1 << 18)
    assert acc.fast_chunks == 0
    _check(acc.result(), x)
    # fourth powers beyond float32's range, and below its normal range: the float64 path
    for scale in (1e12, 1e-12):
        x = (scale * rng.standard_normal(100_000)).astype(np.float32)
        acc = _fast(x, 1 << 18)
        assert acc.fast_chunks == 0
        _check(acc.result(), x)


def test_fast_path_edge_cases():
    const = _fast(np.full(100_000, 0.1, np.float32), 1 << 18)
    assert const.fast_chunks == 1
    r = const.result()
    assert (r.mean, r.std, r.min, r.max, r.skew, r.kurtosis) == (np.float32(0.1), 0, np.float32(0.1),
                                                                 np.float32(0.1), None, None)
    for values in ([1.5], [0.0, 1.0], [-2.0, 0.5, 7.0], [0.0] * 5 + [1.0]):  # tiny tensors
        x = np.array(values, np.float32)
        r = _fast(x, 1 << 18).result()
        assert r.count == x.size and (r.min, r.max) == (x.min(), x.max())
        assert r.mean == pytest.approx(x.astype(np.float64).mean(), abs=1e-7)
        assert r.std == pytest.approx(x.astype(np.float64).std(), rel=1e-6, abs=1e-12)
        if x.size > 1:
            _check_fast(r, x)
    # float64 input and integers always take the float64 path
    assert _fast(np.arange(10.0), 4).fast_chunks == 0
    assert tensor_stats(np.full(3, np.nan, np.float32)).count == 0
    assert _fast(np.full(3, np.nan, np.float32), 4).result().nan == 3


def test_fast_and_exact_paths_agree_on_a_mixed_stream():
    """Chunks taking different paths merge into one answer (Pébay's update is path-agnostic)."""
    rng = np.random.default_rng(5)
    x = _bf16(0.02 * rng.standard_normal(700_000))
    x[650_000] = np.inf  # the last chunk goes the float64 way
    acc = _fast(x, 100_000)
    assert acc.fast_chunks == 6
    _check_fast(acc.result(), x)
