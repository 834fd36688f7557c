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
