"""reporting.positional: data is null without learned positions, else the numbers the page shows."""
import json

import numpy as np
import pytest
from scipy import stats

from adapters import open_model
from reporting import positional


def test_minilm_section(minilm_dir):
    model = open_model(minilm_dir)
    sec = positional.section(model)
    assert sec.key == "positional" and sec.charts
    data = json.loads(json.dumps(sec.data))
    w = model.weight("pos_embed.W_pos").astype(np.float64)
    var = w.var(axis=0)
    assert data["highest_variance_dim"] == int(var.argmax()) and data["lowest_variance_dim"] == int(var.argmin())
    assert (var < var[data["median_variance_dim"]]).sum() == (384 - 1) // 2
    assert len(data["adjacent_correlation"]) == 511
    assert data["adjacent_correlation"][100] == pytest.approx(stats.pearsonr(w[100], w[101]).statistic, abs=1e-6)
    assert len(data["periods"]) == len(data["period_power"]) == 384
    assert data["variances"]["median"] == pytest.approx(var[data["median_variance_dim"]])
    assert f"**{data['highest_variance_dim']}**" in sec.reading
    for chart in sec.charts:
        chart.to_dict()  # valid Vega-Lite, under Altair's row limit


def test_rotary_model_has_null_data(tmp_path):
    from tests.adapters.harness import build
    _, model = build("llama", tmp_path, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     num_key_value_heads=2, intermediate_size=64, vocab_size=50, max_position_embeddings=64)
    sec = positional.section(model)
    assert sec.data is None and "rotary" in sec.reading and sec.charts
