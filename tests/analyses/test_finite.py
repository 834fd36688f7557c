"""Non-finite and degenerate input: counted, located, and never an exception in the analyses."""
import numpy as np

from analyses import distribution, finite, layers, pca, spectral
from analyses.heads import LayerWeights, layer_statistics, statistics_reading, ward

F32_MAX = np.finfo(np.float32).max


def _broken(shape=(40, 24)) -> np.ndarray:
    w = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    w[0, 7] = np.nan
    w[3, 2] = np.inf
    w[5, 5] = -np.inf
    return w


def test_nonfinite_counts_and_first_position():
    bad = finite.nonfinite(_broken())
    assert (bad.nan, bad.inf, bad.first) == (1, 2, (0, 7))
    assert bad.words() == "1 NaN and 2 Inf (first at row 0, col 7)"
    assert finite.nonfinite(np.ones((3, 3), np.float32)) is None
    assert finite.finite(_broken()).size == 40 * 24 - 3


def test_merge_of_chunks_gives_the_tensor_position():
    w = _broken().reshape(-1)
    parts = [(o, finite.nonfinite(w[o:o + 100])) for o in range(0, w.size, 100)]
    assert finite.merge(parts, (40, 24)) == finite.nonfinite(_broken())


def test_degenerate():
    assert finite.degenerate(np.zeros((3, 3))) == "all zero"
    assert finite.degenerate(np.full((3, 3), 0.5)) == "constant (every value 0.5)"
    assert finite.degenerate(np.eye(3)) is None


def test_distribution_uses_finite_values_only():
    w = _broken()
    s = distribution.describe(w)
    clean = w[np.isfinite(w)].astype(np.float64)
    assert (s.n, s.nan, s.inf) == (clean.size, 1, 2)
    assert np.isclose(s.mean, clean.mean()) and np.isclose(s.std, clean.std())
    assert distribution.histogram(w, 10).counts.sum() == clean.size
    assert distribution.histogram(np.full(4, np.nan, np.float32), 10).counts.size == 0


def test_histogram_of_float32_extremes():
    w = np.array([-F32_MAX, 0.0, 1.0, F32_MAX], np.float32)
    h = distribution.histogram(w, 200)
    assert h.counts.sum() == 4 and np.isfinite(h.edges).all()


def test_layer_summary_of_broken_and_extreme_matrices():
    s = layers.summarize_layer(0, _broken())
    assert (s.nan, s.inf) == (1, 2) and np.isfinite([s.mean, s.std, s.min, s.max]).all()
    assert s.row_variance.n == 40 - 3  # the rows with a NaN or Inf have no variance
    assert layers.summarize_layer(0, np.full((3, 3), np.nan)).row_variance is None
    big = layers.summarize_layer(0, np.full((4, 4), F32_MAX, np.float32))
    assert np.isfinite(big.mean) and big.std == 0


def test_spectral_eigenvalues_of_float32_extremes_do_not_overflow():
    w = np.random.default_rng(0).normal(size=(300, 256)).astype(np.float32)
    w[::7, ::5] = F32_MAX
    evals = spectral.eigenvalues(w)
    assert np.isfinite(evals).all() and evals[-1] > 1e70
    streamed = spectral.streamed_eigenvalues(np.array_split(w, 3), 256)
    assert np.isfinite(streamed).all()


def test_pca_of_extremes_is_finite():
    w = np.random.default_rng(0).normal(size=(50, 20)).astype(np.float32)
    w[::3] = F32_MAX
    assert np.isfinite(pca.layer_pca(0, w).explained_ratio).all()


def test_heads_with_nan_get_nan_statistics_and_leave_clustering():
    rng = np.random.default_rng(0)
    w = LayerWeights(*(rng.normal(size=s).astype(np.float32) for s in ((4, 16, 4), (2, 16, 4), (2, 16, 4), (4, 4, 16))))
    w.W_Q[1, 0, 0] = np.nan
    stats = layer_statistics(w)
    assert np.isnan(stats["qk_norm"][1]) and np.isfinite(np.delete(stats["qk_norm"], 1)).all()
    assert "3 heads with NaN or Inf" in statistics_reading(np.stack([stats["qk_norm"]] * 3), "QK")
    features = np.concatenate([w.W_Q.reshape(4, -1), w.W_O.reshape(4, -1)], axis=1)
    c = ward(features, ["H0", "H1", "H2", "H3"])
    assert c.dropped == ["H1"] and c.labels == ["H0", "H2", "H3"]
