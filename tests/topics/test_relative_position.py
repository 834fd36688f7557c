"""T5's relative position bias through the positional topic: tables per stack, causal in the decoder, the reading."""
import numpy as np

from reporting import positional as report_section
from tests.adapters.harness_encdec import build_seq2seq
from tests.adapters.test_t5 import TINY
from topics import positional as topic


def test_t5_biases_per_stack(tmp_path):
    hf, model = build_seq2seq("t5", tmp_path, **TINY)
    result = topic.compute(model)
    assert result.learned is None and [r.label for r in result.relative] == ["Encoder", "Decoder"]
    encoder, decoder = result.relative
    assert encoder.by_distance.bidirectional and not decoder.by_distance.bidirectional
    # the decoder's bias at each distance is what transformers adds to its scores there
    stored = hf.decoder.block[0].layer[0].SelfAttention.compute_bias(50, 50)[0].detach().numpy()  # (heads, q, k)
    d = decoder.by_distance
    for query, key in [(49, 0), (49, 30), (10, 10), (45, 44)]:
        row = np.searchsorted(d.distances, key - query)
        np.testing.assert_allclose(d.bias[row], stored[:, query, key], atol=1e-6)
    text = topic.reading(result)
    assert "**Encoder**" in text and "**Decoder**" in text and "causal" in text
    section = report_section.section(result)
    assert section.reading == text and len(section.data["relative"]) == 2 and len(section.charts) == 4
    assert section.data["relative"][0]["w_rel"][3][1] == float(model.weight("encoder.pos_embed.W_rel")[3, 1])


def test_reading_names_near_and_forward_heads(tmp_path):
    _, model = build_seq2seq("t5", tmp_path, **TINY)
    import topics.relative_position as rel_topic
    from analyses import relative_position as rel
    w = np.zeros((10, 4))
    w[0, 0], w[1, 0], w[5, 0] = 5.0, 3.0, 3.0  # head 0: distance 0 and ±1 (buckets 0, 1 and 5 + 1 - 1)
    w[5:, 2] = 2.0  # head 2: every key after the query
    b = rel.bias_by_distance(w, True, 20)
    text = rel_topic.reading([rel_topic.RelativeBias("encoder.pos_embed.W_rel", "Encoder", b, rel.head_preferences(b))])
    assert "head 0 favour near tokens" in text and "head 0's, for the query's own position" in text
    assert "head 2 attend forwards" in text
