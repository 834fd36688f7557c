"""topics.distributions: one matrix and every layer, against scipy; the choices the page offers; the words."""
import numpy as np
import pytest
from scipy import stats

from adapters import open_model, schema
from adapters.views import matrix
from analyses import distribution as dist
from topics import distributions as topic


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    return open_model(minilm_dir)


def _described(name, values):
    return topic.Described(name, dist.describe(values), dist.histogram(values, bins=topic.BINS))


def _assert_matches_scipy(s, values):
    x = values.reshape(-1).astype(np.float64)
    assert s.n == x.size and s.ks_n == x.size
    assert s.mean == pytest.approx(x.mean(), abs=1e-9) and s.std == pytest.approx(x.std(), rel=1e-7)
    assert s.skew == pytest.approx(stats.skew(x), rel=1e-6)
    assert s.kurtosis == pytest.approx(stats.kurtosis(x), rel=1e-6)
    ks = stats.kstest(x, "norm", args=(x.mean(), x.std()))
    assert s.ks_statistic == pytest.approx(ks.statistic, rel=1e-6)
    assert s.ks_pvalue == pytest.approx(ks.pvalue, rel=1e-4, abs=1e-300)


def test_minilm_qkv_every_layer(minilm):
    result = topic.compute(minilm)
    assert result.slot == "attn.W_QKV" and sorted(result.by_layer) == list(range(6))
    for l, one in result.by_layer.items():
        values = matrix(minilm, schema.name("attn.W_QKV", l)).values
        assert values.shape == (384, 3 * 384) and one.name == schema.name("attn.W_QKV", l)
        _assert_matches_scipy(one.stats, values)
        counts, edges = np.histogram(values, bins=topic.BINS)
        np.testing.assert_array_equal(one.histogram.counts, counts)
    rows = topic.rows(result)
    assert [r["layer"] for r in rows] == list(range(6))
    assert set(rows[0]) == {"layer", "slot", "mean", "std", "skew", "kurtosis", "ks_statistic", "ks_pvalue",
                            "nan", "inf"}
    assert (rows[0]["nan"], rows[0]["inf"]) == (0, 0)
    tails = max(rows, key=lambda r: r["kurtosis"])["layer"]
    assert f"heaviest in layer **{tails}**" in topic.layers_reading(result)
    text = topic.reading(result)
    assert text.startswith("`blocks.0.attn.W_QKV`: 442,368 values") and text.endswith(topic.layers_reading(result))


def test_describe_one_matrix_outside_the_layers(minilm):
    one = topic.describe(minilm, "embed.W_E")
    x = minilm.weight("embed.W_E").astype(np.float64)
    assert one.stats.n == x.size and one.stats.ks_n == dist.KS_SAMPLE_SIZE  # 11.7M values: the KS test subsamples
    assert one.stats.mean == pytest.approx(x.mean(), abs=1e-9) and one.stats.std == pytest.approx(x.std(), rel=1e-7)
    assert one.name == "embed.W_E" and one.histogram.counts.sum() == one.stats.n
    assert topic.matrix_reading(one).startswith("`embed.W_E`:")


def test_choices_are_slots_then_global_matrices_then_raw_tensors(minilm):
    choices = topic.choices(minilm)
    assert choices[:2] == ["attn.W_QKV", "attn.W_Q"] and "mlp.W_out" in choices
    assert "embed.W_E" in choices and "raw:embeddings.position_embeddings.weight" in choices
    assert not [c for c in choices if schema.parse(c).layer is not None]  # a layer is picked separately
    per_layer = choices.index("mlp.W_out")
    assert per_layer < choices.index("embed.W_E") < choices.index("raw:embeddings.position_embeddings.weight")
    for slot in ("attn.W_QKV", "mlp.W_in"):
        assert sorted(topic.compute(minilm, slot).by_layer) == list(range(6))


def test_huge_matrix_reading_names_the_subsample(monkeypatch):
    monkeypatch.setattr(dist, "KS_FULL_LIMIT", 10_000)
    monkeypatch.setattr(dist, "KS_SAMPLE_SIZE", 4_000)
    values = np.random.default_rng(4).laplace(size=(200, 150)).astype(np.float32)
    one = _described("x", values)
    assert "random subsample of 4,000 of the 30,000 values" in topic.matrix_reading(one)
    assert f"subsample of 4,000 values (seed {dist.KS_SEED}); the moments use all 30,000" in topic.ks_note(one.stats)


def test_gpt2_c_attn_shape_reads_on_all_values():
    values = (np.random.default_rng(5).normal(size=(768, 3 * 768)) * 0.02).astype(np.float32)
    one = _described("c_attn", values)
    assert "on all values" in topic.matrix_reading(one) and "subsample" not in topic.ks_note(one.stats)


@pytest.mark.parametrize("draw,words", [
    ("normal", "near-normal, with normal-like tails"),
    ("laplace", "heavier tails (excess kurtosis 3.0)"),
    ("uniform", "lighter tails (excess kurtosis -1.2)"),
    ("exponential", "a longer right tail"),
])
def test_shape_words_follow_the_numbers(draw, words):
    values = getattr(np.random.default_rng(7), draw)(size=200_000)
    assert words in topic.shape_words(dist.describe(values))


def test_no_layer_has_the_slot():
    empty = topic.Distributions("attn.W_QKV", {})
    assert topic.rows(empty) == [] and "No layer has `attn.W_QKV`" in topic.reading(empty)


def _one(values):
    return topic.Described("m", dist.describe(values), dist.histogram(values))


def test_a_planted_outlier_is_named_and_the_kurtosis_without_it_given():
    w = np.random.default_rng(3).normal(0, 0.02, (384, 1152)).astype(np.float32)
    w[3, 7] = 12.5  # one extreme value: alone it makes the excess kurtosis ~1e5
    s = dist.describe(w)
    assert s.extreme == pytest.approx(12.5) and s.extreme_at == (3, 7)
    rest = np.delete(w.reshape(-1), 3 * 1152 + 7).astype(np.float64)
    assert s.kurtosis_without_extreme == pytest.approx(stats.kurtosis(rest), rel=1e-5, abs=1e-6)
    assert s.robust_std == pytest.approx(1.4826 * stats.median_abs_deviation(w, axis=None), rel=1e-5)
    assert s.one_value_dominates
    text = topic.matrix_reading(_one(w))
    assert "12.5 at row 3, column 7" in text and "Normal-like apart from one outlier" in text
    assert "heavier tails" not in text


def test_a_heavy_tail_is_not_blamed_on_one_value():
    w = np.random.default_rng(4).laplace(size=(300, 300))
    s = dist.describe(w)
    assert not s.one_value_dominates and s.kurtosis > 2
    assert "outlier" not in topic.shape_words(s) and "heavier tails" in topic.shape_words(s)


def test_outliers_inflating_the_std_bring_the_robust_spread():
    w = np.random.default_rng(5).normal(0, 1.0, (200, 200))
    w[:40, :40] = 25.0  # a block of outliers, so no single value dominates but the std is inflated
    text = topic.matrix_reading(_one(w))
    assert "robust spread" in text and f"{1.4826 * stats.median_abs_deviation(w, axis=None):.3g}" in text


def test_p_values_read_in_scientific_notation():
    assert topic.p_value(0.0312) == "p = 0.031" and topic.p_value(1.2934e-5) == "p = 1.29e-05"
    assert topic.p_value(0.0) == "p < 1e-300" and topic.p_value(float("nan")) == "p undefined"


def test_minilm_layer_0_w_out_kurtosis_is_one_value(minilm):
    """The issue's case: MiniLM's layer-0 W_out reads excess kurtosis ~1582, nearly all of it one weight."""
    w = matrix(minilm, "blocks.0.mlp.W_out").values
    flat = np.abs(w - np.median(w)).argmax()
    row, col = np.unravel_index(flat, w.shape)
    rest = np.delete(w.reshape(-1), flat).astype(np.float64)
    text = topic.matrix_reading(topic.describe(minilm, "blocks.0.mlp.W_out"))
    assert f"**{w[row, col]:.4g} at row {row}, column {col}**" in text
    assert f"excess kurtosis {stats.kurtosis(rest):.2f} without it" in text and stats.kurtosis(rest) < 10
    assert "apart from one outlier" in text and "p = 1.29e-223" in text  # scientific, not 0.000


def test_layers_reading_says_when_the_heaviest_tails_are_one_value():
    rng = np.random.default_rng(9)
    layers = [rng.normal(0, 0.02, (64, 96)).astype(np.float32) for _ in range(4)]
    layers[2][10, 20] = 1.0  # planted: layer 2 gets the heaviest tails from this one weight
    result = topic.Distributions("mlp.W_in", {l: _one(w) for l, w in enumerate(layers)})
    text = topic.layers_reading(result)
    rest = np.delete(layers[2].reshape(-1), 10 * 96 + 20).astype(np.float64)
    assert "heaviest in layer **2**" in text
    assert f"Layer 2's tails are one value's: 1 at row 10, column 20; without it its excess kurtosis is " \
           f"{stats.kurtosis(rest):.2f}." in text
    layers[2][10, 20] = 0.0
    calm = topic.Distributions("mlp.W_in", {l: _one(w) for l, w in enumerate(layers)})
    assert "one value's" not in topic.layers_reading(calm)
