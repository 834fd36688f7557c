"""topics.pca on real weights: against sklearn and a second oracle (SVD), every layer, rows or columns as samples."""
import numpy as np
import pytest

from adapters import open_model, schema
from adapters.views import matrix
from analyses.pca import LayerPCA, components_for
from tests.analyses.test_pca import _assert_matches_sklearn
from topics import pca as topic


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    return open_model(minilm_dir)


def _numpy_ratios(values):
    """Second oracle, cheaper than sklearn at GPT-2 sizes: squared singular values of the standardised matrix."""
    x = np.asarray(values, dtype=np.float64)
    z = (x - x.mean(0)) / x.std(0)
    s2 = np.linalg.svd(z, compute_uv=False) ** 2
    return s2 / s2.sum()


def test_minilm_matches_sklearn_and_reads_every_layer(minilm):
    for l in (0, 5):  # first and last: sklearn is the slow part
        r = topic.one_layer(minilm, "attn.W_QKV", "rows", l)
        _assert_matches_sklearn(r, matrix(minilm, schema.name("attn.W_QKV", l)).values)
    result = topic.compute(minilm)
    assert [r.layer for r in result.layers] == list(range(6)) and result.scored == list(range(6))
    ratios = _numpy_ratios(matrix(minilm, "blocks.3.attn.W_QKV").values)
    np.testing.assert_allclose(result.layers[3].explained_ratio, ratios, atol=1e-9)
    text = topic.reading(result)
    counts = [r.n_for_threshold for r in result.layers]
    assert f"**{min(counts)}**" in text and f"**{max(counts)}**" in text and "of 384 components" in text


def test_columns_as_samples_is_the_transpose(minilm):
    r = topic.one_layer(minilm, "attn.W_O", "columns", 1)
    assert (r.n_samples, r.n_features) == (384, 384)
    _assert_matches_sklearn(r, matrix(minilm, "blocks.1.attn.W_O").values.T)
    rows = topic.one_layer(minilm, "attn.W_O", "rows", 1, with_scores=False)
    assert not np.allclose(rows.explained_ratio, r.explained_ratio)  # a different question, a different answer
    assert "384 columns as samples" in topic.reading(topic.compute(minilm, "attn.W_O", "columns"))
    with pytest.raises(ValueError):
        topic.compute(minilm, "attn.W_O", "diagonals")


def test_gpt2_small_shapes_and_scored_layers(gpt2_small):
    model = gpt2_small
    r = topic.one_layer(model, "attn.W_QKV", "rows", 11, with_scores=False)
    assert (r.n_samples, r.n_features, r.n_components) == (768, 2304, 768) and r.scores is None
    ratios = _numpy_ratios(matrix(model, "blocks.11.attn.W_QKV").values)
    np.testing.assert_allclose(r.explained_ratio, ratios, atol=1e-9)
    assert r.n_for_threshold == int(np.argmax(np.cumsum(ratios) >= 0.9)) + 1


def test_first_and_last_layers():
    assert topic.first_and_last_layers(list(range(12))) == [0, 1, 2, 9, 10, 11]
    assert topic.first_and_last_layers([0, 1, 2, 3]) == [0, 1, 2, 3]


def test_scored_layers_carry_scores_and_the_rest_do_not():
    def fake(layer, scores):
        ratio = np.full(4, 0.25)
        return LayerPCA(layer, 10, 4, ratio, np.cumsum(ratio), components_for(np.cumsum(ratio)), 0.9,
                        np.zeros((10, 2)) if scores else None)
    result = topic.PCA("attn.W_QKV", "rows", [fake(l, l in (0, 7)) for l in range(8)], [0, 7])
    assert [r.layer for r in result.scored_layers()] == [0, 7]
    assert all(r.scores is not None for r in result.scored_layers())


def test_no_layer_has_the_slot():
    assert "No layer has `attn.W_QKV`" in topic.reading(topic.PCA("attn.W_QKV", "rows", [], []))
