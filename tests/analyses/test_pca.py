"""analyses.pca against sklearn's StandardScaler + PCA, on random data and on real weights."""
import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from adapters import open_model
from adapters.views import matrix
from analyses.pca import LayerPCA, components_for, layer_pca, reading, standardise
from charts import pca as charts
from reporting.pca import notebook_layers, section, spectra


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


def _numpy_ratios(values):
    """Second oracle, cheaper than sklearn at GPT-2 sizes: squared singular values of the standardised matrix."""
    x = np.asarray(values, dtype=np.float64)
    z = (x - x.mean(0)) / x.std(0)
    s2 = np.linalg.svd(z, compute_uv=False) ** 2
    return s2 / s2.sum()


def test_minilm_matches_sklearn_and_reads_every_layer(minilm_dir):
    model = open_model(minilm_dir)
    for r in spectra(model, layers=[0, 5], with_scores=True):  # first and last: sklearn is the slow part
        _assert_matches_sklearn(r, matrix(model, f"blocks.{r.layer}.attn.W_QKV").values)
    results = spectra(model)
    assert [r.layer for r in results] == list(range(6))
    ratios = _numpy_ratios(matrix(model, "blocks.3.attn.W_QKV").values)
    np.testing.assert_allclose(results[3].explained_ratio, ratios, atol=1e-9)
    text = reading(results, "attn.W_QKV")
    counts = [r.n_for_threshold for r in results]
    assert f"**{min(counts)}**" in text and f"**{max(counts)}**" in text and "of 384 components" in text


def test_columns_as_samples_is_the_transpose(minilm_dir):
    model = open_model(minilm_dir)
    (r,) = spectra(model, "attn.W_O", "columns", [1], with_scores=True)
    assert (r.n_samples, r.n_features) == (384, 384)
    _assert_matches_sklearn(r, matrix(model, "blocks.1.attn.W_O").values.T)
    (rows,) = spectra(model, "attn.W_O", "rows", [1])
    assert not np.allclose(rows.explained_ratio, r.explained_ratio)  # a different question, a different answer


def test_gpt2_small_shapes(gpt2_small):
    model = gpt2_small
    (r,) = spectra(model, layers=[11])
    assert (r.n_samples, r.n_features, r.n_components) == (768, 2304, 768)
    ratios = _numpy_ratios(matrix(model, "blocks.11.attn.W_QKV").values)
    np.testing.assert_allclose(r.explained_ratio, ratios, atol=1e-9)
    assert r.n_for_threshold == int(np.argmax(np.cumsum(ratios) >= 0.9)) + 1


def test_report_section(minilm_dir):
    model = open_model(minilm_dir)
    s = section(model)
    assert s.key == "pca" and len(s.data["layers"]) == 6 and sorted(s.data["scores"]) == [str(l) for l in range(6)]
    layer0 = s.data["layers"][0]
    ratios = _numpy_ratios(matrix(model, "blocks.0.attn.W_QKV").values)
    assert layer0["n_for_threshold"] == int(np.argmax(np.cumsum(ratios) >= 0.9)) + 1
    np.testing.assert_allclose(layer0["explained_ratio"], ratios, atol=1e-9)
    assert np.asarray(s.data["scores"]["0"]).shape == (384, 2)
    assert notebook_layers(list(range(12))) == [0, 1, 2, 9, 10, 11]
    counts = [l["n_for_threshold"] for l in s.data["layers"]]
    assert len(s.charts) == 3 and f"**{min(counts)}**" in s.reading and f"**{max(counts)}**" in s.reading
    for chart in s.charts:
        assert sum(len(rows) for rows in chart.to_dict()["datasets"].values()) < 5000


def _fake(layer, n_samples, n_components):
    """A LayerPCA with a made-up spectrum: the chart tests need shapes, not an eigen-decomposition."""
    ratio = np.full(n_components, 1 / n_components)
    return LayerPCA(layer, n_samples, n_components, ratio, np.cumsum(ratio), components_for(np.cumsum(ratio)),
                    0.9, np.random.default_rng(layer).normal(size=(n_samples, 2)), None)


def test_charts_downsample_many_rows():
    spec = charts.scatter([_fake(l, 3000, 40) for l in range(4)], "rows").to_dict()
    (rows,) = spec["datasets"].values()
    assert len(rows) < 5000 and "of 12,000 rows, evenly spaced" in str(spec["title"])
    spec = charts.cumulative([_fake(l, 10, 3000) for l in range(3)]).to_dict()
    curve = max(spec["datasets"].values(), key=len)
    assert len(curve) < 5000 and "log-spaced" in str(spec["title"])
    assert curve[-1]["cumulative"] == pytest.approx(1.0)  # the last component is always kept
    small = charts.cumulative([_fake(0, 10, 50)]).to_dict()
    assert len(max(small["datasets"].values(), key=len)) == 50 and "every component" in str(small["title"])
