"""topics.spectral on real checkpoints: rows against numpy's SVD of the raw tensors and explicit circuits,
the page's per-layer rows against the report's whole-model rows, the reading against the rows."""
import numpy as np
import pytest

from adapters import open_model, schema
from analyses.spectral import diagnose, eigenvalues
from topics import spectral as topic
from topics import spectral_rows
from topics.executor import Executor


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    return open_model(minilm_dir)


def test_head_rows_use_the_circuits_of_the_model(minilm):
    w_v, w_o = minilm.weight("blocks.2.attn.W_V"), minilm.weight("blocks.2.attn.W_O")
    one = topic.spectrum(minilm, "attn.W_Q", layer=2, head=5, kind="OV")
    ov = w_v[5].astype(np.float64) @ w_o[5]  # (d_model, d_model); MiniLM has no grouped kv heads
    assert one.n_rows == minilm.cfg.d_model and one.mp_edge is None  # a circuit has no MP bulk
    np.testing.assert_allclose(one.evals[::-1], np.linalg.svd(ov, compute_uv=False)[:minilm.cfg.d_head] ** 2,
                               rtol=1e-6)


def test_model_rows_on_minilm(minilm):
    result = topic.compute(minilm)
    slots = result.slots
    assert {r["slot"] for r in slots} == {"embed.W_E", "pos_embed.W_pos", "attn.W_Q", "attn.W_K", "attn.W_V",
                                         "attn.W_O", "mlp.W_in", "mlp.W_out"}
    assert len(slots) == 2 + 6 * 6  # token-type embedding (2 x 384) has too few eigenvalues
    q0 = topic.find_row(slots, 0, "attn.W_Q")
    assert q0["name"] == "blocks.0.attn.W_Q"
    raw = diagnose(minilm.raw("encoder.layer.0.attention.self.query.weight"), with_shuffled=False)
    assert q0["alpha"] == pytest.approx(raw.alpha)  # per-head layout changes nothing about the spectrum
    assert len(result.heads) == 6 * 12 * len(topic.HEAD_KINDS)
    heads = topic.layer_heads(minilm, 0)
    assert len(heads) == 12 * len(topic.HEAD_KINDS)
    assert all(r["mp_spikes"] is None for r in heads if r["slot"] in ("attn.QK", "attn.OV"))
    assert all(r["name"] is None for r in heads)  # found by (layer, slot, head), never by a written name
    assert all(r["rand_alpha"] is None for r in slots + result.heads)  # the baselines are opt-in


def test_head_rows_are_found_by_layer_slot_and_head(minilm):
    heads = topic.layer_heads(minilm, 3)
    row = topic.find_row(heads, 3, "attn.QK", 7)
    W_Q, W_K = minilm.weight("blocks.3.attn.W_Q"), minilm.weight("blocks.3.attn.W_K")
    s = np.linalg.svd(W_Q[7].astype(np.float64) @ W_K[7].T, compute_uv=False)  # (d_model, d_model) formed
    assert (row["layer"], row["slot"], row["head"]) == (3, "attn.QK", 7)
    assert row["lambda_max"] == pytest.approx(s[0] ** 2, rel=1e-6)
    assert topic.find_row(heads, 3, "attn.QK", 12) is None


def test_chart_baseline_is_the_tables_baseline(minilm):
    """The ESD chart's shuffled copy is the one behind the table's rand_* numbers, on the page
    (one layer at a time) and in the report (the whole model) alike."""
    slot = topic.find_row(topic.layer_slots(minilm, 1, shuffled=True), 1, "mlp.W_in")
    one = topic.spectrum(minilm, "mlp.W_in", layer=1, shuffled=True)
    assert slot["rand_lambda_max"] == pytest.approx(one.shuffled.max(), rel=1e-6)
    whole = topic.compute(minilm, shuffled=True, executor=Executor(threads=1))
    assert topic.find_row(whole.slots, 1, "mlp.W_in")["rand_alpha"] == slot["rand_alpha"]
    head = topic.find_row(topic.layer_heads(minilm, 2, shuffled=True), 2, "attn.OV", 3)
    one = topic.spectrum(minilm, "attn.W_Q", layer=2, head=3, kind="OV", shuffled=True)
    assert head["rand_lambda_max"] == pytest.approx(one.shuffled.max(), rel=1e-6)
    assert topic.find_row(whole.heads, 2, "attn.OV", 3)["rand_alpha"] == head["rand_alpha"]


def test_large_plain_slots_are_streamed_and_agree(minilm, monkeypatch):
    """A stored-as-is matrix above STREAM_FROM is read in blocks of rows: same ESD, and the chart reads it too."""
    embed = schema.Key("embed.W_E")
    whole = eigenvalues(spectral_rows.slot_matrix(minilm, embed))  # (30522, 384)
    assert minilm.plain_source("embed.W_E") == "embeddings.word_embeddings.weight"
    assert minilm.plain_source("blocks.0.attn.W_Q") is None  # cut into heads: read whole
    monkeypatch.setattr(spectral_rows, "STREAM_FROM", 1)
    monkeypatch.setattr(spectral_rows, "_STREAM_BLOCK", 384 * 1000)
    monkeypatch.setattr(minilm, "weight", lambda name: pytest.fail(f"{name} must not be read whole"))
    streamed, n_rows = spectral_rows.slot_eigenvalues(minilm, embed)
    assert n_rows == 30522
    np.testing.assert_allclose(streamed, whole, rtol=1e-3, atol=1e-5 * whole[-1])
    np.testing.assert_array_equal(topic.spectrum(minilm, "embed.W_E").evals, streamed)  # the chart's ESD


def test_gqa_heads_read_their_kv_head(tmp_path):
    """Grouped-query attention: W_K rows of query head h are kv head h // 4's spectrum."""
    from tests.adapters.harness import build
    _, model = build("llama", tmp_path, hidden_size=64, num_hidden_layers=1, num_attention_heads=8,
                     num_key_value_heads=2, intermediate_size=96, vocab_size=50, max_position_embeddings=32)
    heads = topic.layer_heads(model, 0)
    W_K = model.weight("blocks.0.attn.W_K")  # (2, 64, 8)
    for h in range(8):
        want = np.linalg.svd(W_K[h // 4].astype(np.float64), compute_uv=False)[0] ** 2
        assert topic.find_row(heads, 0, "attn.W_K", h)["lambda_max"] == pytest.approx(want, rel=1e-5)
    slots = topic.layer_slots(model, 0)
    assert [r["slot"] for r in slots] == ["attn.W_Q", "attn.W_K", "attn.W_V", "attn.W_O", "mlp.W_in",
                                          "mlp.W_gate", "mlp.W_out"]


def test_reading_counts_the_bands_and_lists_the_flagged(minilm):
    result = topic.compute(minilm)
    text = topic.reading(result)
    fitted = [r for r in result.slots if r["alpha"] is not None and r["slot"] != "pos_embed.W_pos"]
    assert "Not judged by the bands: pos_embed.W_pos" in text  # BERT's learned positions: not a layer matrix
    under = sum(r["alpha"] > 6 for r in fitted)
    assert f"Of **{len(fitted)}** matrices" in text and f"**{under}** look under-trained" in text
    worst = max(fitted, key=lambda r: r["alpha"])
    assert f"Highest: layer {worst['layer']} {worst['slot']} (alpha {worst['alpha']:.2f})" in text
    n_flagged = sum(not 2 <= r["alpha"] <= 6 for r in fitted)
    assert text.count("\n- ") == min(topic.FLAGGED, n_flagged)
    if n_flagged > topic.FLAGGED:  # says it stops short
        assert f"The {topic.FLAGGED} most extreme of the {n_flagged} matrices outside the band" in text
    assert "Per head: Of **432** matrices" in text and "alpha > 6" in text  # 6 layers x 12 heads x 6 kinds
    assert topic.reading(topic.Spectra([], [], False)) == topic.NO_MATRICES
    calm = [dict(r, alpha=4.0) for r in result.slots]
    assert "Every matrix is in the well-trained band." in topic.reading(topic.Spectra(calm, [], False))
    qk = topic.heads_reading(result, "attn.QK")
    assert qk.startswith("Of **72** matrices")


def test_stored_rows_are_what_weightwatcher_reads(minilm):
    names = spectral_rows.stored_names(minilm, max_rows=50_000)
    assert len(names) == 39 and "embeddings.word_embeddings.weight" in names  # 30522 rows: under the cap
    assert "embeddings.token_type_embeddings.weight" not in names  # 2 eigenvalues
    rows = spectral_rows.stored_rows(minilm, names[:3], with_shuffled=False)
    for name, row in zip(names[:3], rows):
        want = diagnose(minilm.raw(name), with_shuffled=False).alpha  # float32 Gram: BLAS threads change the 7th digit
        assert row["name"] == name and row["alpha"] == pytest.approx(want, rel=1e-5)
