"""T5's bucket function against transformers' own, and the bias by distance against a direct lookup."""
import numpy as np
import pytest
import torch
from transformers.models.t5.modeling_t5 import T5Attention

from analyses.relative_position import bias_by_distance, bucket, head_preferences


@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("n_buckets,max_distance", [(32, 128), (10, 20), (8, 16), (33, 100), (64, 1024)])
def test_bucket_matches_transformers(bidirectional, n_buckets, max_distance):
    distances = np.arange(-3000, 3001)
    expected = T5Attention._relative_position_bucket(torch.from_numpy(distances), bidirectional=bidirectional,
                                                     num_buckets=n_buckets, max_distance=max_distance).numpy()
    np.testing.assert_array_equal(bucket(distances, bidirectional, n_buckets, max_distance), expected)


def test_bias_by_distance_and_preferences():
    rng = np.random.default_rng(0)
    w_rel = rng.normal(size=(32, 3))
    w_rel[0, 0] = 10.0  # head 0: distance 0 is its bucket 0
    w_rel[17, 1] = 10.0  # head 1: bucket 17 is distance +1 (bidirectional: 16 + 1)
    w_rel[:16, 2], w_rel[16:, 2] = -1.0, 1.0  # head 2: keys after the query (the upper half) favoured
    b = bias_by_distance(w_rel, True, 128)
    assert b.distances[0] == -256 and b.distances[-1] == 256 and b.bias.shape == (513, 3)
    for i, d in enumerate(b.distances):
        expected = T5Attention._relative_position_bucket(torch.tensor(int(d)), True, 32, 128).item()
        np.testing.assert_array_equal(b.bias[i], w_rel[expected])
    prefs = head_preferences(b)
    assert prefs[0].peak_distance == 0 and prefs[1].peak_distance == 1
    assert prefs[2].forward_minus_backward == 2.0 and prefs[0].near_minus_far > 0
    causal = bias_by_distance(w_rel, False, 128)
    assert causal.distances[-1] == 0 and np.isnan(head_preferences(causal)[0].forward_minus_backward)
