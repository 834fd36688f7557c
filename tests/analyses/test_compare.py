import numpy as np
import pytest

from analyses.compare import effective_rank, singular_values, tensor_diff


def test_diff_numbers_match_numpy():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(40, 30)).astype(np.float32)
    b = a + 0.1 * rng.normal(size=a.shape).astype(np.float32)
    d = tensor_diff("w", a, b)
    delta = b.astype(np.float64) - a
    assert d.rel_change == pytest.approx(np.linalg.norm(delta) / np.linalg.norm(a.astype(np.float64)), rel=1e-9)
    assert d.cosine == pytest.approx(np.dot(a.ravel().astype(np.float64), b.ravel()) /
                                     (np.linalg.norm(a.astype(np.float64)) * np.linalg.norm(b.astype(np.float64))))
    assert d.max_abs == pytest.approx(np.abs(delta).max())
    s = np.linalg.svd(delta, compute_uv=False)
    np.testing.assert_allclose(singular_values(delta), s, rtol=1e-6, atol=1e-9)
    p = s / s.sum()
    assert d.delta_effective_rank == pytest.approx(np.exp(-(p * np.log(p)).sum()), rel=1e-6)
    assert d.delta_top1_energy == pytest.approx(s[0] ** 2 / (s ** 2).sum(), rel=1e-6)


def test_low_rank_update_is_detected():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(64, 48))
    b = a + np.outer(rng.normal(size=64), rng.normal(size=48))  # a rank-1 fine-tune
    d = tensor_diff("w", a, b)
    assert d.delta_top1_energy == pytest.approx(1.0, abs=1e-9)
    assert d.delta_effective_rank == pytest.approx(1.0, abs=1e-6)


def test_identical_and_mismatched():
    a = np.ones((3, 4), np.float32)
    d = tensor_diff("w", a, a.copy())
    assert d.rel_change == 0 and d.delta_effective_rank is None
    with pytest.raises(ValueError):
        tensor_diff("w", a, np.ones((4, 3)))
    assert effective_rank(np.array([1.0, 1.0, 1.0])) == pytest.approx(3.0)
