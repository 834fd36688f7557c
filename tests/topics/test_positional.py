"""topics.positional: every case it reads (learned, rotary, rotary without config, ALiBi, none), on real and tiny models."""
import numpy as np
import pytest
from safetensors.numpy import save_file

from adapters import open_model
from analyses import positional as pos
from topics import positional as topic


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    return open_model(minilm_dir)


def _random(n_ctx, d_model, seed=0):
    return np.random.default_rng(seed).normal(size=(n_ctx, d_model)).astype(np.float32)


def _learned(w):
    """A learned-case result for an arbitrary W_pos, as compute builds it, without a model."""
    s = pos.summarize(w)
    return topic.Positional("learned", topic.Learned(s, pos.grid(w, topic.CELLS), w[:, :3], pos.grid(w, 9)))


def test_minilm_learned_positions(minilm):
    result = topic.compute(minilm)
    assert result.scheme == "learned" and result.rotary is None
    w = minilm.weight("pos_embed.W_pos").astype(np.float64)
    s = result.learned.summary
    var = w.var(axis=0)
    assert (s.highest_variance_dim, s.lowest_variance_dim) == (int(var.argmax()), int(var.argmin()))
    np.testing.assert_array_equal(result.learned.extremes, w[:, result.learned.extreme_dims].astype(np.float32))
    cosine = result.learned.cosine
    assert cosine.shape == (512, 512) and cosine.values.size <= topic.CELLS
    unit = w / np.linalg.norm(w, axis=1, keepdims=True)
    np.testing.assert_allclose(cosine.values, unit[cosine.rows] @ unit[cosine.cols].T, atol=1e-9)
    heat = result.learned.heatmap
    assert heat.values.size <= topic.CELLS and heat.shape == (512, 384)
    text = topic.reading(result)
    assert f"**{s.highest_variance_dim}**" in text and f"**{s.lowest_variance_dim}**" in text


def test_window_and_dimensions_are_what_the_page_zooms_into(minilm):
    w = minilm.weight("pos_embed.W_pos")
    g = topic.window(minilm, 100, 132)
    assert g.shape == (32, 384) and g.values.size <= topic.CELLS
    br, bc = g.blocks  # each cell: its block's entry of largest magnitude
    for i, r in enumerate(g.rows):
        for j, c in enumerate(g.cols):
            block = w[100 + r:100 + r + br, c:c + bc].ravel()
            assert g.values[i, j] == block[np.argmax(np.abs(block))]
    np.testing.assert_array_equal(topic.dimensions(minilm, (7, 2)), w[:, [7, 2]])


def test_sine_and_noise_read_as_such():
    n = 256
    t = np.arange(n)
    w = np.stack([np.sin(2 * np.pi * t / 32), 3 + 0.5 * np.cos(2 * np.pi * t / 8 + 1.0),
                  np.random.default_rng(1).normal(size=n)], axis=1)
    assert "look like a sine wave" in topic.reading(_learned(w))
    assert "none is sine-like" in topic.reading(_learned(_random(256, 5)))


@pytest.mark.parametrize("base,dim", [(10000.0, 64), (500000.0, 16), (10000.0, 32)])
def test_rotary_reading_counts_the_slow_pairs(base, dim):
    f = pos.rotary_frequencies(dim, base, n_ctx=2048)
    longer = int((f.wavelength > 2048).sum())
    assert f"{longer} of the {dim // 2} pairs" in topic.reading(topic.Positional("rotary", rotary=f))


def test_rotary_model_gets_its_frequencies(tmp_path):
    from tests.adapters.harness import build
    _, model = build("llama", tmp_path, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     num_key_value_heads=2, intermediate_size=64, vocab_size=50, max_position_embeddings=64,
                     rope_theta=5000.0)
    result = topic.compute(model)
    assert result.learned is None and result.scheme == "rotary"
    c = model.cfg
    expected = pos.rotary_frequencies(c.rotary_dim, c.rotary_base, c.n_ctx)
    np.testing.assert_allclose(result.rotary.theta, 5000.0 ** (-np.arange(0, 16, 2) / 16))
    np.testing.assert_array_equal(result.rotary.wavelength, expected.wavelength)
    assert "rotary embeddings" in topic.reading(result)


def test_every_case_without_a_learned_matrix_is_worded():
    """Each case has its own sentence, and no sentence stands in for another."""
    texts = {scheme: topic.reading(topic.Positional(scheme)) for scheme in ("rotary", "alibi", "none", "unknown")}
    assert "does not give the rotary dimension and base" in texts["rotary"]
    assert "ALiBi" in texts["alibi"]
    assert "no learned positional embedding matrix (positional scheme: none)" in texts["none"]
    assert "(positional scheme: unknown)" in texts["unknown"]
    assert len(set(texts.values())) == 4


def test_alibi_and_bare_checkpoints(tmp_path):
    from tests.adapters.harness import build
    _, bloom = build("bloom", tmp_path / "bloom", hidden_size=32, n_layer=1, n_head=2, vocab_size=50)
    result = topic.compute(bloom)
    assert (result.scheme, result.learned, result.rotary) == ("alibi", None, None)
    assert "ALiBi" in topic.reading(result)
    (tmp_path / "bare").mkdir()
    save_file({"layers.0.weight": _random(8, 8)}, str(tmp_path / "bare" / "w.safetensors"))
    bare = topic.compute(open_model(str(tmp_path / "bare" / "w.safetensors")))
    assert bare.learned is None and bare.rotary is None
    assert "no learned positional embedding matrix" in topic.reading(bare)


def test_w_pos_with_nan_and_inf_is_read_on_its_finite_values():
    w = _random(32, 6, seed=4)
    w[3, 1], w[9, 4] = np.nan, np.inf
    text = topic.reading(_learned(w))
    assert text.startswith("⚠️ `pos_embed.W_pos` holds 1 NaN and 1 Inf (first at position 3, dimension 1)")
    assert "27 of 31 neighbouring pairs" in text and "the 4 of 6 dimensions" in text
    var = np.nanvar(np.where(np.isfinite(w), w, np.nan).astype(np.float64), axis=0)
    assert f"Dimension **{int(np.argmax(var))}** varies most" in text and f"(variance {var.max():.3g})" in text
    r = [np.corrcoef(w[p].astype(np.float64), w[p + 1])[0, 1] for p in range(31)
         if np.isfinite(w[p]).all() and np.isfinite(w[p + 1]).all()]
    assert f"r = **{np.median(r):.2f}**" in text


@pytest.mark.parametrize("fill, words", [(0.0, "is all zero"), (0.5, "is constant (every value 0.5)")])
def test_flat_w_pos_carries_no_position_information(fill, words):
    text = topic.reading(_learned(np.full((16, 4), fill, np.float32)))
    assert words in text and "no position information" in text and "Dimension" not in text


def test_all_nan_w_pos_never_crashes():
    assert "Too few finite values" in topic.reading(_learned(np.full((8, 3), np.nan, np.float32)))


def test_reading_names_the_one_position_behind_the_highest_variance():
    w = (np.random.default_rng(7).normal(size=(512, 384)) * 0.02).astype(np.float32)
    w[0, 99] = 3.0
    text = topic._learned_reading(pos.summarize(w))
    assert "Dimension **99** varies most" in text and "**W_pos[0, 99] = 3**" in text
    mad = 1.4826 * np.median(np.abs(w - np.median(w, axis=0)), axis=0)
    assert f"dimension **{int(np.argmax(mad))}** varies most" in text
    calm = (np.random.default_rng(8).normal(size=(512, 64)) * 0.02).astype(np.float32)
    calm[:, 5] *= 10
    assert "one value" not in topic._learned_reading(pos.summarize(calm))
