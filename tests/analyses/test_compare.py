import numpy as np
import pytest

from analyses.compare import effective_rank, factor_singular_values, rank_at, singular_values, tensor_diff


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


@pytest.mark.parametrize("side", ["A", "B"])
def test_a_side_with_nan_or_inf_is_named_not_measured(side):
    rng = np.random.default_rng(2)
    a = rng.normal(size=(6, 5)).astype(np.float32)
    b = a + 0.1
    broken = a if side == "A" else b
    broken[1, 2], broken[4, 0], broken[5, 4] = np.nan, np.inf, np.nan
    d = tensor_diff("w", a, b)
    assert d.nonfinite == f"{side} holds 2 NaN and 1 Inf (first at row 1, col 2)" and not d.measured
    assert (d.rel_change, d.cosine, d.max_abs, d.delta_effective_rank, d.delta_top1_energy) == (None,) * 5


def test_both_sides_broken_and_a_clean_pair_measured():
    a = np.ones((2, 3), np.float32)
    b = a.copy()
    a[0, 1], b[1, 2] = np.inf, np.nan
    assert tensor_diff("w", a, b).nonfinite == "A holds 1 Inf (first at row 0, col 1); B holds 1 NaN (first at row 1, col 2)"
    clean = tensor_diff("w", np.ones((2, 3)), np.full((2, 3), 2.0))
    assert clean.measured and clean.nonfinite is None and clean.rel_change == pytest.approx(1.0)


@pytest.mark.parametrize("rank", [1, 3, 7])
def test_rank_99_of_a_planted_update_on_a_full_base(rank):
    rng = np.random.default_rng(rank)
    a = rng.normal(size=(48, 40))
    b = a + rng.normal(size=(48, rank)) @ rng.normal(size=(rank, 40))
    d = tensor_diff("w", a, b)
    assert d.rank_99 == np.linalg.matrix_rank(b - a) == rank and d.matrix_shape == (48, 40)
    assert tensor_diff("w", a, a + 1e-3 * rng.normal(size=a.shape)).rank_99 > 30  # noise: nearly full rank


def test_rank_at_counts_directions_to_the_energy():
    assert rank_at(np.array([3.0, 2.0, 0.0, 0.0])) == 2
    assert rank_at(np.array([10.0, 1.5, 0.0])) == 2  # 100 / 102.25 < 0.99
    assert rank_at(np.array([10.0, 0.5, 0.5])) == 1  # 100 / 100.5 > 0.99
    assert rank_at(np.zeros(4)) == 0
    assert tensor_diff("w", np.ones((3, 4)), np.ones((3, 4))).rank_99 == 0
    assert tensor_diff("v", np.ones(4), np.zeros(4)).rank_99 is None  # a vector has no rank


def test_factor_singular_values_equal_the_products():
    rng = np.random.default_rng(5)
    b, a = rng.normal(size=(300, 6)), rng.normal(size=(6, 200))
    np.testing.assert_allclose(factor_singular_values(b, a), np.linalg.svd(b @ a, compute_uv=False)[:6], rtol=1e-10)


@pytest.mark.parametrize("shape", [(300, 40), (40, 300), (1, 50)])
def test_streamed_blocks_equal_the_whole_computation(shape, monkeypatch):
    from analyses import compare
    monkeypatch.setattr(compare, "BLOCK_ELEMS", 97)  # many ragged blocks
    rng = np.random.default_rng(3)
    a = rng.normal(size=shape).astype(np.float32)
    b = a + (rng.normal(size=(shape[0], 3)) @ rng.normal(size=(3, shape[1]))).astype(np.float32) * 0.1
    d = tensor_diff("w", a, b)
    delta = b.astype(np.float64) - a
    s = np.linalg.svd(delta, compute_uv=False)
    assert d.rel_change == pytest.approx(np.linalg.norm(delta) / np.linalg.norm(a.astype(np.float64)), rel=1e-9)
    assert d.max_abs == pytest.approx(np.abs(delta).max())
    assert d.rank_99 == min(3, min(shape)) if min(shape) > 1 else d.rank_99 == 1
    assert d.delta_top1_energy == pytest.approx(s[0] ** 2 / (s ** 2).sum(), rel=1e-6)
