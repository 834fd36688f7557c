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
