"""analyses.pca against sklearn's StandardScaler + PCA on random data (on real weights: tests/topics/test_pca.py)."""
import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from analyses.pca import components_for, layer_pca, standardise


def _sklearn(values):
    z = StandardScaler().fit_transform(np.asarray(values, dtype=np.float64))
    return PCA().fit(z), z


def _assert_matches_sklearn(result, values):
    pca, z = _sklearn(values)
    np.testing.assert_allclose(result.explained_ratio, pca.explained_variance_ratio_, atol=1e-9)
    np.testing.assert_allclose(result.cumulative, np.cumsum(pca.explained_variance_ratio_), atol=1e-9)
    for k in range(2):  # components and scores agree up to sign
        sign = np.sign(result.components[k] @ pca.components_[k])
        np.testing.assert_allclose(sign * result.components[k], pca.components_[k], atol=1e-6)
        np.testing.assert_allclose(sign * result.scores[:, k], pca.transform(z)[:, k], atol=1e-5)
    cum = np.cumsum(pca.explained_variance_ratio_)
    assert result.n_for_threshold == next(i + 1 for i, c in enumerate(cum) if c >= 0.9 - 1e-9)


@pytest.mark.parametrize("shape", [(60, 150), (150, 60), (50, 50)])
def test_random_correlated_data_matches_sklearn(shape):
    rng = np.random.default_rng(4)
    values = rng.normal(size=shape) @ rng.normal(size=(shape[1], shape[1])) + rng.normal(size=shape[1]) * 5
    result = layer_pca(3, values)
    assert result.layer == 3 and result.n_samples == shape[0] and result.n_features == shape[1]
    _assert_matches_sklearn(result, values)


def test_standardise_matches_standard_scaler_with_a_constant_column():
    values = np.random.default_rng(5).normal(size=(20, 4))
    values[:, 2] = 7.0  # StandardScaler only centres a constant column
    np.testing.assert_allclose(standardise(values), StandardScaler().fit_transform(values), atol=1e-12)


def test_eigvalsh_path_gives_the_same_spectrum():
    values = np.random.default_rng(6).normal(size=(30, 90))
    fast, full = layer_pca(0, values, with_scores=False), layer_pca(0, values)
    np.testing.assert_allclose(fast.explained_ratio, full.explained_ratio, atol=1e-12)
    assert fast.scores is None


def test_components_for_threshold():
    assert components_for(np.array([0.5, 0.8, 0.9, 1.0])) == 3
    assert components_for(np.array([0.95, 1.0])) == 1
    assert components_for(np.array([0.5, 0.89999999999, 1.0])) == 2  # float noise below 0.9 still counts


def test_low_rank_data_needs_few_components():
    rng = np.random.default_rng(7)
    values = rng.normal(size=(200, 3)) @ rng.normal(size=(3, 80)) + 1e-3 * rng.normal(size=(200, 80))
    assert layer_pca(0, values).n_for_threshold <= 3
