"""charts.layers: what reaches the browser stays under Altair's row limit."""
import numpy as np

from analyses.layers import summarize_layer
from charts import layers as charts


def test_violin_thins_outlines_for_deep_models():
    rng = np.random.default_rng(12)
    deep = [summarize_layer(l, rng.normal(size=(20, 20))) for l in range(90)]  # 90 x 64 points > 5000
    data = charts.violin(deep).to_dict()
    assert sum(len(rows) for rows in data["datasets"].values()) < 5000 and "thinned" in str(data["title"])
