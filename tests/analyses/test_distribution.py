"""analyses.distribution against scipy.stats and numpy, on random data and GPT-2's c_attn shape.
Every layer of MiniLM and the words are tested with the topic, in tests/topics/test_distributions.py."""
import numpy as np
import pytest
from scipy import stats
from transformers import GPT2Config

from analyses import distribution as dist


def _check(values):
    s = dist.describe(values)
    x = values.reshape(-1).astype(np.float64)
    assert s.n == x.size
    assert s.mean == pytest.approx(np.mean(x), rel=1e-9, abs=1e-12)
    assert s.std == pytest.approx(np.std(x), rel=1e-9)
    assert s.skew == pytest.approx(stats.skew(x), rel=1e-7, abs=1e-10)
    assert s.kurtosis == pytest.approx(stats.kurtosis(x), rel=1e-7, abs=1e-10)  # excess, Fisher
    fitted = stats.norm.fit(x)  # MLE: the same normal the KS test compares with
    assert (s.mean, s.std) == pytest.approx(fitted, rel=1e-7)
    sample = dist.ks_values(values).astype(np.float64)
    ks = stats.kstest(sample, "norm", args=fitted)
    assert s.ks_statistic == pytest.approx(ks.statistic, rel=1e-6)
    assert s.ks_pvalue == pytest.approx(ks.pvalue, rel=1e-4, abs=1e-300)
    return s


@pytest.mark.parametrize("draw", ["normal", "laplace", "exponential", "uniform"])
def test_random_data(draw):
    values = getattr(np.random.default_rng(0), draw)(size=(300, 40)).astype(np.float32)
    s = _check(values)
    assert s.ks_n == s.n


def test_heavy_tailed_t_matches_scipy():
    _check(np.random.default_rng(3).standard_t(5, size=(120, 77)).astype(np.float32))


def test_huge_matrix_uses_the_documented_subsample(monkeypatch):
    monkeypatch.setattr(dist, "KS_FULL_LIMIT", 10_000)
    monkeypatch.setattr(dist, "KS_SAMPLE_SIZE", 4_000)
    values = np.random.default_rng(4).laplace(size=(200, 150)).astype(np.float32)
    s = _check(values)
    assert s.ks_n == 4_000 and s.n == 30_000
    idx = np.random.default_rng(dist.KS_SEED).choice(30_000, size=4_000, replace=False)
    np.testing.assert_array_equal(dist.ks_values(values), values.reshape(-1)[idx])
    full = stats.kstest(values.reshape(-1).astype(np.float64), "norm", args=(s.mean, s.std)).statistic
    assert s.ks_statistic == pytest.approx(full, abs=0.03)  # the subsample estimates the full D


def test_gpt2_c_attn_shape_is_tested_on_all_values():
    cfg = GPT2Config()
    values = (np.random.default_rng(5).normal(size=(cfg.n_embd, 3 * cfg.n_embd)) * 0.02).astype(np.float32)
    s = dist.describe(values)
    assert s.n == 768 * 2304 == s.ks_n  # 1.77M values: under KS_FULL_LIMIT, so no subsample
    assert abs(s.kurtosis) < 0.05 and s.ks_statistic < 0.005


def test_histogram_matches_numpy():
    values = np.random.default_rng(6).normal(size=(100, 50)).astype(np.float32)
    h = dist.histogram(values, bins=37)
    counts, edges = np.histogram(values, bins=37)
    np.testing.assert_array_equal(h.counts, counts)
    np.testing.assert_allclose(h.edges, edges)
    assert (h.density * np.diff(h.edges)).sum() == pytest.approx(1.0)
    x = np.linspace(-2, 2, 9)
    by_hand = np.exp(-((x - 0.5) / 2) ** 2 / 2) / (2 * np.sqrt(2 * np.pi))  # mean 0.5, std 2
    np.testing.assert_allclose(dist.normal_pdf(x, 0.5, 2.0), by_hand)


@pytest.mark.parametrize("n, scale, shift", [(50, 1.0, 0.0), (5000, 0.02, 0.3), (200_000, 0.05, -1.0)])
def test_ks_normal_matches_scipy_kstest(n, scale, shift):
    from analyses.distribution import ks_normal
    rng = np.random.default_rng(n)
    x = (rng.standard_t(5, size=n) * scale + shift).astype(np.float32)
    mean, std = float(x.astype(np.float64).mean()), float(x.astype(np.float64).std())
    ref = stats.kstest(x.astype(np.float64), "norm", args=(mean, std))
    d, p = ks_normal(x, mean, std)
    assert d == pytest.approx(ref.statistic, rel=1e-12) and p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
