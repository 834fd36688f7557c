"""reporting.pca on the real MiniLM: every layer's spectrum against SVD, scores of the shown layers."""
import numpy as np

from adapters import open_model
from adapters.views import matrix
from reporting.pca import section
from tests.topics.test_pca import _numpy_ratios
from topics import pca as topic


def test_report_section(minilm_dir):
    model = open_model(minilm_dir)
    result = topic.compute(model)
    s = section(result)
    assert s.key == "pca" and len(s.data["layers"]) == 6 and sorted(s.data["scores"]) == [str(l) for l in range(6)]
    layer0 = s.data["layers"][0]
    ratios = _numpy_ratios(matrix(model, "blocks.0.attn.W_QKV").values)
    assert layer0["n_for_threshold"] == int(np.argmax(np.cumsum(ratios) >= 0.9)) + 1
    np.testing.assert_allclose(layer0["explained_ratio"], ratios, atol=1e-9)
    assert np.asarray(s.data["scores"]["0"]).shape == (384, 2)
    counts = [l["n_for_threshold"] for l in s.data["layers"]]
    assert len(s.charts) == 3 and f"**{min(counts)}**" in s.reading and f"**{max(counts)}**" in s.reading
    assert s.reading == topic.reading(result)
    for chart in s.charts:
        assert sum(len(rows) for rows in chart.to_dict()["datasets"].values()) < 5000


def test_no_heads_no_data():
    s = section(topic.PCA("attn.W_QKV", "rows", [], []))
    assert s.data is None and not s.charts and "attention heads are unknown" in s.reading
