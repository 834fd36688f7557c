"""analyses.thin_products against numpy on the explicit D x D products."""
import numpy as np
import pytest

from analyses.thin_products import thin_product_norm, thin_product_singular_values


@pytest.mark.parametrize("n, d, k", [(4, 64, 8), (3, 20, 20), (2, 3, 5)])  # (2, 3, 5): wider than tall
def test_singular_values_and_norm_match_the_formed_product(n, d, k):
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(2, n, d, k)).astype(np.float32)
    s = thin_product_singular_values(A, B)
    assert s.shape == (n, min(d, k)) and s.dtype == np.float64
    for i in range(n):
        product = A[i].astype(np.float64) @ B[i].T  # (d, d)
        full = np.linalg.svd(product, compute_uv=False)
        np.testing.assert_allclose(s[i], full[:s.shape[1]], rtol=1e-9, atol=1e-12)
        assert np.all(full[s.shape[1]:] < 1e-9 * full[0])  # nothing beyond the thin rank is lost
        assert thin_product_norm(A, B)[i] == pytest.approx(np.linalg.norm(product, "fro"), rel=1e-12)


def test_rank_deficient_factors_give_zeros_not_noise():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(1, 30, 4))
    A[..., 3] = A[..., 0] + A[..., 1]  # rank 3
    s = thin_product_singular_values(A, rng.normal(size=(1, 30, 4)))
    assert s[0, 3] < 1e-12 * s[0, 0]
    assert np.all(s[0, :3] > 0) and np.all(np.diff(s[0]) <= 0)  # descending
