"""analyses.layers against numpy, np.percentile and scipy's gaussian_kde (the topic on real weights: tests/topics)."""
import numpy as np
import pytest
from scipy.stats import gaussian_kde, spearmanr

from analyses.layers import depth_change, depth_trend, gaussian_density, most_departing, spread, summarize_layer


def _assert_spread(s, x):
    x = np.asarray(x, dtype=np.float64)
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    assert (s.q1, s.median, s.q3) == pytest.approx((q1, med, q3), rel=1e-12)
    iqr = q3 - q1
    inside = [v for v in x if q1 - 1.5 * iqr <= v <= q3 + 1.5 * iqr]
    assert s.whisker_low == min(inside) and s.whisker_high == max(inside)
    assert s.n_outliers == len(x) - len(inside) and s.n == len(x)
    assert (s.min, s.max, s.mean) == pytest.approx((x.min(), x.max(), x.mean()))
    np.testing.assert_allclose(s.grid, np.linspace(x.min(), x.max(), len(s.grid)))
    np.testing.assert_allclose(s.density, gaussian_kde(x)(s.grid), rtol=1e-9)


def test_spread_of_a_known_sample():
    s = spread(np.array([1, 2, 3, 4, 5, 6, 7, 8, 100.0]))
    assert (s.q1, s.median, s.q3) == (3, 5, 7)
    assert (s.whisker_low, s.whisker_high, s.n_outliers) == (1, 8, 1)  # 100 is beyond q3 + 6


def test_spread_of_random_skewed_data_matches_percentile_and_kde():
    x = np.random.default_rng(9).lognormal(size=500)
    _assert_spread(spread(x), x)


def test_kde_matches_scipy_on_its_own():
    x = np.random.default_rng(10).normal(size=300)
    grid = np.linspace(-4, 4, 33)
    np.testing.assert_allclose(gaussian_density(x, grid), gaussian_kde(x)(grid), rtol=1e-9)


def test_constant_sample_has_no_violin():
    s = spread(np.full(10, 2.0))
    assert s.grid.size == 0 and s.density.size == 0 and s.whisker_low == s.whisker_high == 2.0


def test_layer_summary_matches_numpy():
    v = np.random.default_rng(11).normal(size=(40, 70)).astype(np.float32)
    s = summarize_layer(4, v)
    v64 = v.astype(np.float64)
    assert (s.layer, s.mean, s.std, s.min, s.max) == pytest.approx((4, v64.mean(), v64.std(), v64.min(), v64.max()))
    _assert_spread(s.row_variance, [np.var(row) for row in v64])  # the variance of each row, one by one


def test_trend_and_departure():
    assert depth_trend([1, 2, 3, 5]) == pytest.approx(spearmanr([0, 1, 2, 3], [1, 2, 3, 5]).statistic)
    assert depth_trend([3, 3, 3]) is None and depth_trend([1, 2]) is None
    layers = [summarize_layer(l, np.random.default_rng(l).normal(size=(30, 30)) * scale)
              for l, scale in enumerate([1, 1.1, 1.2, 3, 1.3])]
    odd, offset = most_departing(layers)
    assert odd.layer == 3 and offset > 1


def test_depth_change_is_the_theil_sen_change_over_the_median():
    from scipy.stats import theilslopes
    y = [0.103, 0.1032, 0.1035, 0.1037, 0.104]
    want = theilslopes(y, range(5)).slope * 4 / np.median(y)
    assert depth_change(y) == pytest.approx(want) and depth_change(y) < 0.02
    assert depth_change([1.0, 1.1, 1.2]) == pytest.approx(0.2 / 1.1)
    # one odd layer cannot make a trend: Theil-Sen's median of slopes ignores it
    assert depth_change([1.0, 1.0, 1.0, 1.0, 9.0, 1.0, 1.0]) == 0.0
    assert depth_change([1, 2]) is None and depth_change([0.0, 0.0, 0.0]) is None
