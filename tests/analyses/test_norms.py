"""analyses.norms against scipy's median_abs_deviation and planted outlier dimensions."""
import numpy as np
from scipy import stats

from analyses.norms import OUTLIER_Z, outlier_dimensions, robust_z


def test_robust_z_matches_scipy():
    g = np.random.default_rng(0).normal(1.0, 0.1, (5, 300))
    z = robust_z(g)
    for row, zrow in zip(g, z):
        mad = stats.median_abs_deviation(row, scale="normal")
        np.testing.assert_allclose(zrow, np.abs(row - np.median(row)) / mad, rtol=1e-12)


def test_planted_dimension_is_found_in_every_norm_first():
    rng = np.random.default_rng(1)
    g = rng.normal(1.0, 0.05, (8, 256))
    g[:, 17] = 3.0  # 40 robust sigmas out in every norm
    g[2, 200] = 2.0  # an outlier in one norm only
    found = outlier_dimensions(g)
    assert [(o.dim, o.count) for o in found[:2]] == [(17, 8), (200, 1)]
    assert found[0].max_z > 30 and abs(found[0].mean_gain - 3.0) < 1e-12
    assert abs(found[0].median_gain - 1.0) < 0.02


def test_nothing_stands_out_in_gaussian_gains():
    g = np.random.default_rng(2).normal(1.0, 0.05, (12, 512))
    assert outlier_dimensions(g) == []  # P(z > 6) ~ 2e-9 per gain
    assert np.nanmax(robust_z(g)) < OUTLIER_Z


def test_constant_rows_and_non_finite_gains():
    g = np.ones((3, 10))
    g[0, 4] = 1.5  # any departure from a constant norm is an outlier
    g[1, 2] = np.nan
    g[2, 7] = np.inf
    z = robust_z(g)
    assert z[0, 4] == np.inf and z[0, 0] == 0.0
    assert np.isnan(z[1, 2]) and np.isnan(z[2, 7])
    assert [(o.dim, o.count) for o in outlier_dimensions(g)] == [(4, 1)]
