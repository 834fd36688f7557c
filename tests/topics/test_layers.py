"""topics.layers: the per-layer matrices every layer topic reads, and a slot's statistics across depth."""
import numpy as np
import pytest

from adapters import open_model
from analyses.layers import summarize_layer
from topics import layers as topic


def test_minilm_slots_layers_and_values(minilm_dir):
    model = open_model(minilm_dir)
    slots = topic.matrix_slots(model)
    assert slots[:2] == ["attn.W_QKV", "attn.W_Q"] and "mlp.W_out" in slots
    assert not [s for s in slots if s.endswith((".w", ".b")) or s.startswith("attn.b_")]
    assert topic.slot_layers(model, "attn.W_QKV") == topic.slot_layers(model, "mlp.W_in") == list(range(6))
    qkv = topic.layer_values(model, 2, "attn.W_QKV")
    q = model.weight("blocks.2.attn.W_Q")  # (heads, d_model, d_head)
    np.testing.assert_array_equal(qkv[:, :384], q.transpose(1, 0, 2).reshape(384, -1))


def test_trend_and_departure_are_read():
    layers = [summarize_layer(l, np.random.default_rng(l).normal(size=(30, 30)) * scale)
              for l, scale in enumerate([1, 1.1, 1.2, 3, 1.3])]
    text = topic.reading(topic.Layers("mlp.W_in", layers))
    assert "Layer **3** departs most" in text and "above" in text and "rises" in text


def test_trend_words():
    assert topic.trend_words(None, "X") == "X shows no trend that can be measured"
    assert "falls steadily" in topic.trend_words(-0.9, "X") and "tends to rise" in topic.trend_words(0.5, "X")
    assert "no steady trend" in topic.trend_words(0.1, "X")


def test_gpt2_small_shapes_and_depth(gpt2_small):
    model = gpt2_small  # layer l drawn with std 0.02 * (1 + 0.1 l)
    result = topic.compute(model, "attn.W_QKV")
    found = result.summaries
    assert [s.layer for s in found] == list(range(12))
    for s in (found[0], found[11]):
        w = model.raw(f"transformer.h.{s.layer}.attn.c_attn.weight").astype(np.float64)  # Conv1D [in, out]
        assert s.row_variance.n == 768 and s.std == pytest.approx(w.std())
        assert s.row_variance.median == pytest.approx(np.median(w.var(axis=1)))
    assert [s.std for s in found] == pytest.approx([0.02 * (1 + 0.1 * l) for l in range(12)], rel=0.01)
    assert "rises steadily with depth (Spearman ρ = 1.00, +" in topic.reading(result)


def test_no_layer_has_the_slot():
    assert topic.reading(topic.Layers("attn.W_QKV", [])) == \
        "No layer has `attn.W_QKV` (the attention heads are unknown)."


def test_a_trend_is_stated_only_with_an_effect_size():
    tiny = [0.103, 0.1032, 0.1035, 0.1037, 0.104]  # planted non-trend: monotone (rho = 1) but 1% in all
    text = topic.trend_words(1.0, "The std", tiny)
    assert "barely changes" in text and "too small to call a trend" in text and "rises" not in text
    grows = [0.1, 0.12, 0.14, 0.16, 0.2]  # planted trend: doubles over the depth
    text = topic.trend_words(1.0, "The std", grows)
    assert "rises steadily" in text and "+57% over the depth" in text  # Theil-Sen 0.0233 x 4 / 0.14 (median)


def test_reading_of_hand_made_layers_with_a_planted_non_trend(tmp_path):
    from analyses.layers import summarize_layer
    rng = np.random.default_rng(0)
    base = rng.normal(size=(64, 64))
    flat = topic.Layers("mlp.W_in", [summarize_layer(l, base * (1 + 0.002 * l)) for l in range(6)])
    assert "barely changes with depth" in topic.reading(flat)
    steep = topic.Layers("mlp.W_in", [summarize_layer(l, base * (1 + 0.3 * l)) for l in range(6)])
    assert "The std rises steadily with depth (Spearman ρ = 1.00, +" in topic.reading(steep)
