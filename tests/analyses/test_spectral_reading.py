"""analyses.spectral_reading: the bands, the flagged list's count, positional embeddings left unjudged."""
from analyses import spectral_reading as reading


def _row(slot, alpha, layer=0, head=None):
    return {"slot": slot, "alpha": alpha, "layer": layer, "head": head, "mp_spikes": 0}


def test_summary_counts_bands_and_does_not_judge_positional_embeddings():
    rows = [_row("attn.W_Q", 1.5), _row("attn.W_K", 3.0), _row("mlp.W_in", 7.0), _row("mlp.W_out", 9.0),
            _row("pos_embed.W_pos", 12.0, layer=None)]
    text = reading.summary(rows)
    assert "Of **4** matrices, **1** have alpha in [2, 6], **2** look under-trained" in text
    assert "**1** over-fit" in text and "Highest: layer 0 mlp.W_out (alpha 9.00)" in text
    assert "Not judged by the bands: pos_embed.W_pos (alpha 12.00)" in text
    assert all("pos_embed" not in line for line in reading.flagged(rows))
    assert "not judged" in reading.verdict(rows[-1]) and "under-trained" not in reading.verdict(rows[-1])
    assert "looks under-trained" in reading.verdict(rows[3])


def test_flagged_list_says_how_many_it_leaves_out():
    rows = [_row("mlp.W_in", 6.5 + i, layer=i) for i in range(20)] + [_row("mlp.W_out", 4.0)]
    text = reading.flagged_list(rows, 8)
    assert text.startswith("The 8 most extreme of the 20 matrices outside the band:")
    assert text.count("\n- ") == 8 and "layer 19 mlp.W_in" in text  # the most extreme first
    assert "layer 0 mlp.W_in" not in text
    assert reading.flagged_list(rows[:3], 8).startswith("The 3 matrices outside the band:")
    assert reading.flagged_list(rows[:1], 8).startswith("The 1 matrix outside the band:")
    assert reading.flagged_list([_row("mlp.W_out", 4.0)], 8) == "Every matrix is in the well-trained band."
    assert len(reading.flagged(rows)) == 20


def test_every_metric_has_a_label_and_an_explanation():
    for metric in ("alpha", "alpha_weighted", "stable_rank", "log_spectral_norm", "log_frobenius_norm",
                   "mp_spikes", "effective_rank", "ks_distance", "rand_alpha", "learned_spikes"):
        assert reading.metric_label(metric) != metric and "_" not in reading.metric_label(metric)
        assert len(reading.metric_help(metric)) > 30
