"""reporting.layers on the real MiniLM: per layer the numbers of attn.W_QKV, against numpy."""
import numpy as np
import pytest

from adapters import open_model, schema
from adapters.views import matrix
from reporting.layers import section
from topics import layers as topic


def test_minilm_report_section(minilm_dir):
    model = open_model(minilm_dir)
    result = topic.compute(model)
    s = section(result)
    assert s.key == "layers" and len(s.data) == 6 and {r["slot"] for r in s.data} == {"attn.W_QKV"}
    for record in s.data:
        w = matrix(model, schema.name("attn.W_QKV", record["layer"])).values.astype(np.float64)
        assert (record["mean"], record["std"], record["min"], record["max"]) == pytest.approx(
            (w.mean(), w.std(), w.min(), w.max()))
        q = np.percentile(w.var(axis=1), [25, 50, 75])
        rv = record["row_variance"]
        assert (rv["q1"], rv["median"], rv["q3"]) == pytest.approx(tuple(q))
        assert len(rv["density"]) == len(rv["grid"]) == 64
    stds = [r["std"] for r in s.data]
    assert f"**{min(stds):.4g}**" in s.reading and f"**{max(stds):.4g}**" in s.reading
    assert s.reading == topic.reading(result)
    assert len(s.charts) == 3
    for chart in s.charts:
        assert sum(len(rows) for rows in chart.to_dict()["datasets"].values()) < 5000


def test_no_heads_no_data():
    s = section(topic.Layers("attn.W_QKV", []))
    assert s.data is None and not s.charts and "attention heads are unknown" in s.reading
