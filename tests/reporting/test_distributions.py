"""reporting.distributions: per layer, Q, K and V together, against scipy."""
import json

import numpy as np
import pytest
from scipy import stats

from adapters import open_model, schema
from reporting import distributions
from topics import distributions as topic


def test_minilm_section(minilm_dir):
    model = open_model(minilm_dir)
    result = topic.compute(model)
    sec = distributions.section(result)
    assert sec.key == "distributions"
    rows = json.loads(json.dumps(sec.data))
    assert [r["layer"] for r in rows] == list(range(6))
    for r in (rows[0], rows[5]):
        assert r["slot"] == "attn.W_QKV"
        l = r["layer"]
        x = np.concatenate([model.weight(schema.name(f"attn.W_{w}", l)).transpose(1, 0, 2).reshape(384, -1)
                            for w in "QKV"], axis=1).astype(np.float64).ravel()
        assert r["mean"] == pytest.approx(x.mean(), abs=1e-9) and r["std"] == pytest.approx(x.std(), rel=1e-7)
        assert r["skew"] == pytest.approx(stats.skew(x), rel=1e-6)
        assert r["kurtosis"] == pytest.approx(stats.kurtosis(x), rel=1e-6)
        ks = stats.kstest(x, "norm", args=(x.mean(), x.std()))
        assert r["ks_statistic"] == pytest.approx(ks.statistic, rel=1e-6)
        assert r["ks_pvalue"] == pytest.approx(ks.pvalue, rel=1e-4, abs=1e-300)
    assert "`blocks.0.attn.W_QKV`" in sec.reading and sec.reading == topic.reading(result)
    for chart in sec.charts:
        chart.to_dict()


def test_model_without_heads_has_empty_rows(tmp_path):
    from safetensors.numpy import save_file
    save_file({"layers.0.weight": np.ones((8, 8), np.float32)}, str(tmp_path / "w.safetensors"))
    sec = distributions.section(topic.compute(open_model(str(tmp_path / "w.safetensors"))))
    assert sec.data == [] and not sec.charts and "No layer has `attn.W_QKV`" in sec.reading
