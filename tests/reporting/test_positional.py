"""reporting.positional: data is null without learned positions, else the numbers the page shows; the topic's reading."""
import json

import numpy as np
import pytest
from scipy import stats

from adapters import open_model
from reporting import positional
from topics import positional as topic


def test_minilm_section(minilm_dir):
    model = open_model(minilm_dir)
    result = topic.compute(model)
    sec = positional.section(result)
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
    assert f"**{data['highest_variance_dim']}**" in sec.reading and sec.reading == topic.reading(result)
    for chart in sec.charts:
        chart.to_dict()  # valid Vega-Lite, under Altair's row limit


def test_rotary_model_has_null_data(tmp_path):
    from tests.adapters.harness import build
    _, model = build("llama", tmp_path, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     num_key_value_heads=2, intermediate_size=64, vocab_size=50, max_position_embeddings=64)
    result = topic.compute(model)
    sec = positional.section(result)
    assert sec.data is None and "rotary" in sec.reading and sec.charts
    assert sec.reading == topic.reading(result)


def test_alibi_model_has_null_data_and_no_charts(tmp_path):
    from tests.adapters.harness import build
    _, model = build("bloom", tmp_path, hidden_size=32, n_layer=1, n_head=2, vocab_size=50)
    sec = positional.section(topic.compute(model))
    assert sec.data is None and not sec.charts and "ALiBi" in sec.reading


def test_w_pos_with_nan_and_inf_gives_strict_json(tmp_path):
    import report
    from safetensors.numpy import save_file
    from tests.adapters.harness import build
    _, model = build("gpt2", tmp_path / "m", n_embd=16, n_layer=1, n_head=2, vocab_size=40, n_positions=24)
    tensors = {n: np.array(model.raw(n)) for n in model.raw_names()}
    wpe = next(n for n in tensors if n.endswith("wpe.weight"))
    tensors[wpe][2, 5], tensors[wpe][:, 7] = np.inf, np.nan  # dimension 7 has no finite value at all
    save_file(tensors, str(tmp_path / "b.safetensors"))
    result = topic.compute(open_model(str(tmp_path / "b.safetensors")))
    sec = positional.section(result)
    data = json.loads(json.dumps(report.jsonable(sec.data), allow_nan=False))
    assert data["nonfinite"] == {"nan": 24, "inf": 1, "first": [0, 7]} and data["degenerate"] is None
    w = tensors[wpe].astype(np.float64)
    finite_var = np.delete(w, 7, axis=1)
    finite_var = np.nanvar(np.where(np.isfinite(finite_var), finite_var, np.nan), axis=0)
    assert data["variances"]["max"] == pytest.approx(finite_var.max()) and data["periods"][7] is None
    assert data["adjacent_correlation"] == [None] * 23  # every position holds the NaN of dimension 7
    assert data["mean_adjacent_correlation"] is None and "⚠️ `pos_embed.W_pos` holds 24 NaN" in sec.reading
    for chart in sec.charts:
        json.dumps(report.jsonable(chart.to_dict()), allow_nan=False)
