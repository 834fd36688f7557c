"""analyses.positional against independent oracles, on random data, a sine, GPT-2's shape and MiniLM's W_pos.
How topics.positional words these numbers is tested in tests/topics/test_positional.py."""
import numpy as np
import pytest
import torch
from scipy import signal, stats
from sklearn.metrics.pairwise import cosine_similarity as sk_cosine
from transformers import GPT2Config, LlamaConfig
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

from adapters import open_model
from analyses import positional as pos


@pytest.fixture(scope="module")
def minilm_w_pos(minilm_dir):
    return open_model(minilm_dir).weight("pos_embed.W_pos")


def _random(n_ctx=63, d_model=17, seed=0):
    return np.random.default_rng(seed).normal(size=(n_ctx, d_model)).astype(np.float32)


def _periodogram_oracle(w):
    """Dominant period and power share per column from scipy's two-sided periodogram (positive half)."""
    n = w.shape[0]
    f, p = signal.periodogram(w.astype(np.float64), axis=0, detrend="constant", return_onesided=False)
    f, p = np.abs(f[1:n // 2 + 1]), p[1:n // 2 + 1]  # k = 1 .. n//2 (the Nyquist bin appears as -0.5)
    k = p.argmax(axis=0)
    return 1 / f[k], p[k, np.arange(w.shape[1])] / p.sum(axis=0)


def _check_all(w):
    s = pos.summarize(w)
    var = np.var(w.astype(np.float64), axis=0)
    np.testing.assert_allclose(s.variances, var, rtol=1e-10)
    assert s.lowest_variance_dim == int(np.argmin(var)) and s.highest_variance_dim == int(np.argmax(var))
    below = (var < var[s.median_variance_dim]).sum()
    assert below == (len(var) - 1) // 2  # the middle of the sorted order, not the middle index
    assert s.adjacent_correlation.shape == (w.shape[0] - 1,)
    corr = np.corrcoef(w.astype(np.float64))
    np.testing.assert_allclose(s.adjacent_correlation, np.diag(corr, k=1), atol=1e-6)
    for p in (0, w.shape[0] // 2, w.shape[0] - 2):
        assert s.adjacent_correlation[p] == pytest.approx(stats.pearsonr(w[p], w[p + 1]).statistic, abs=1e-5)
    np.testing.assert_allclose(pos.cosine_similarity(w), sk_cosine(w.astype(np.float64)), atol=1e-6)
    periods, share = _periodogram_oracle(w)
    np.testing.assert_allclose(s.periods, periods, rtol=1e-9)
    np.testing.assert_allclose(s.peak_power, share, rtol=1e-6)
    return s


def test_random_data_odd_and_even_lengths():
    for shape in ((63, 17), (64, 16)):
        s = _check_all(_random(*shape))
        if shape[1] % 2:
            assert s.variances[s.median_variance_dim] == pytest.approx(np.median(s.variances))


def test_minilm_w_pos(minilm_w_pos):
    assert minilm_w_pos.shape == (512, 384)
    s = _check_all(minilm_w_pos)
    assert np.median(s.adjacent_correlation) > 0.5  # trained positions: neighbours are alike


def test_sine_with_known_period():
    n = 256
    t = np.arange(n)
    w = np.stack([np.sin(2 * np.pi * t / 32), 3 + 0.5 * np.cos(2 * np.pi * t / 8 + 1.0),
                  np.random.default_rng(1).normal(size=n)], axis=1)
    periods, share = pos.dominant_periods(w)
    assert periods[:2].tolist() == [32.0, 8.0]
    assert share[0] == pytest.approx(1.0) and share[1] == pytest.approx(1.0)  # the offset 3 is removed first
    assert share[2] < 0.2
    assert share[2] < pos.STRONG_PEAK <= share[:2].min()  # the sines count as periodic, the noise does not


def test_gpt2_small_shape():
    cfg = GPT2Config()
    w = (np.random.default_rng(2).normal(size=(cfg.n_positions, cfg.n_embd)) * 0.02).astype(np.float32)
    s = pos.summarize(w)
    assert s.adjacent_correlation.shape == (1023,) and s.periods.shape == (768,)
    w[700, 5] = -1.5  # a planted extreme: a strided sample would skip it, a block extreme cannot
    g = pos.grid(w, 5000)
    assert g.values.size <= 5000 and g.sampled and g.rows[0] == 0 and g.cols[0] == 0
    br, bc = g.blocks
    assert len(set(np.diff(g.rows))) == 1 and np.diff(g.rows)[0] == br and np.diff(g.cols)[0] == bc
    for i, r in enumerate(g.rows):  # oracle: each block's entry of largest magnitude, by plain loops
        for j, c in enumerate(g.cols):
            block = w[r:r + br, c:c + bc].ravel()
            assert g.values[i, j] == block[np.argmax(np.abs(block))]
    assert g.values.min() == np.float32(-1.5)


def test_grid_keeps_small_matrices_whole():
    w = _random(10, 7)
    g = pos.grid(w, 5000)
    assert not g.sampled and g.values is w


@pytest.mark.parametrize("base,dim", [(10000.0, 64), (500000.0, 16), (10000.0, 32)])
def test_rotary_frequencies_match_transformers(base, dim):
    cfg = LlamaConfig(hidden_size=dim * 4, num_attention_heads=4, rope_theta=base)
    expected = LlamaRotaryEmbedding(cfg).inv_freq.to(torch.float64).numpy()
    f = pos.rotary_frequencies(dim, base, n_ctx=2048)
    np.testing.assert_allclose(f.theta, expected, rtol=1e-6)
    np.testing.assert_allclose(f.wavelength, 2 * np.pi / expected, rtol=1e-6)


def test_nan_and_inf_are_left_out_of_every_number():
    w = _random(40, 9, seed=3)
    w[5, 2], w[17, 6], w[30, 2] = np.nan, np.inf, -np.inf
    s = pos.summarize(w)
    assert (s.nonfinite.nan, s.nonfinite.inf, s.nonfinite.first) == (1, 2, (5, 2)) and s.degenerate is None
    masked = np.where(np.isfinite(w), w, np.nan).astype(np.float64)
    np.testing.assert_allclose(s.variances, np.nanvar(masked, axis=0), rtol=1e-10)
    var = np.nanvar(masked, axis=0)
    assert s.lowest_variance_dim == int(np.argmin(var)) and s.highest_variance_dim == int(np.argmax(var))
    whole_rows = np.isfinite(w).all(axis=1)
    pairs = whole_rows[:-1] & whole_rows[1:]
    corr = [np.corrcoef(w[p].astype(np.float64), w[p + 1])[0, 1] for p in np.flatnonzero(pairs)]
    np.testing.assert_allclose(s.adjacent_correlation[pairs], corr, atol=1e-6)
    assert np.isnan(s.adjacent_correlation[~pairs]).all() and (~pairs).sum() == 6  # pairs 4, 5, 16, 17, 29, 30
    whole_dims = np.isfinite(w).all(axis=0)
    periods, share = _periodogram_oracle(w[:, whole_dims])
    np.testing.assert_allclose(s.periods[whole_dims], periods, rtol=1e-9)
    np.testing.assert_allclose(s.peak_power[whole_dims], share, rtol=1e-6)
    assert np.isnan(s.periods[[2, 6]]).all() and np.isnan(s.peak_power[[2, 6]]).all()
    cos = pos.cosine_similarity(w)
    np.testing.assert_allclose(cos[np.ix_(whole_rows, whole_rows)], sk_cosine(w[whole_rows].astype(np.float64)),
                               atol=1e-6)
    assert np.isnan(cos[5]).all() and np.isnan(cos[:, 17]).all()


def test_a_dimension_without_finite_values_is_left_out_of_the_ranking():
    w = _random(20, 5, seed=1)
    w[:, 3] = np.nan
    s = pos.summarize(w)
    var = np.var(w.astype(np.float64), axis=0)
    assert np.isnan(s.variances[3]) and 3 not in (s.lowest_variance_dim, s.highest_variance_dim)
    assert s.highest_variance_dim == int(np.nanargmax(var)) and s.lowest_variance_dim == int(np.nanargmin(var))


@pytest.mark.parametrize("fill, words", [(0.0, "all zero"), (0.25, "constant")])
def test_flat_w_pos_is_degenerate(fill, words):
    s = pos.summarize(np.full((12, 4), fill, np.float32))
    assert s.degenerate.startswith(words) and s.nonfinite is None
    assert np.isnan(s.adjacent_correlation).all() and (s.variances == 0).all()


def test_one_position_making_the_highest_variance_is_named():
    w = (np.random.default_rng(7).normal(size=(512, 384)) * 0.02).astype(np.float32)
    w[0, 99] = 3.0  # planted: alone it makes dimension 99 the highest-variance one
    s = pos.summarize(w)
    assert s.highest_variance_dim == 99 and s.peak.position == 0 and s.peak.value == np.float32(3.0)
    assert s.peak.variance_without == pytest.approx(np.var(w[1:, 99].astype(np.float64)), rel=1e-9)
    assert s.peak.dominates(float(s.variances[99]))
    mad = 1.4826 * np.median(np.abs(w - np.median(w, axis=0)), axis=0)
    assert s.highest_spread_dim == int(np.argmax(mad)) != 99
    np.testing.assert_allclose(s.robust_spread, mad, rtol=1e-6)


def test_a_dimension_that_truly_varies_most_is_not_blamed_on_one_position():
    w = (np.random.default_rng(8).normal(size=(512, 64)) * 0.02).astype(np.float32)
    w[:, 5] *= 10  # planted: dimension 5 varies most at every position
    s = pos.summarize(w)
    assert s.highest_variance_dim == 5 == s.highest_spread_dim and not s.peak.dominates(float(s.variances[5]))
