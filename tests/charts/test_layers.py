"""charts.layers: what reaches the browser stays under Altair's row limit."""
import numpy as np

from analyses.layers import summarize_layer
from charts import layers as charts


def test_violin_thins_outlines_for_deep_models():
    rng = np.random.default_rng(12)
    deep = [summarize_layer(l, rng.normal(size=(20, 20))) for l in range(90)]  # 90 x 64 points > 5000
    data = charts.violin(deep).to_dict()
    assert sum(len(rows) for rows in data["datasets"].values()) < 5000 and "thinned" in str(data["title"])


def test_std_has_its_own_axis_and_every_label_fits():
    import re

    import vl_convert as vlc
    rng = np.random.default_rng(3)
    found = [summarize_layer(l, rng.normal(0, 0.02 * (1 + 0.1 * l), (64, 64))) for l in range(12)]
    spec = charts.stats_band(found, "attn.W_QKV").to_dict()
    values, std = spec["vconcat"]
    assert std["encoding"]["y"]["field"] == "std" and std["encoding"]["y"]["title"] == "std"
    data = next(iter(spec["datasets"].values()))
    assert [r["std"] for r in data] == [s.std for s in found]
    svg = vlc.vegalite_to_svg(charts.stats_band(found, "attn.W_QKV").to_json())
    assert "…" not in "".join(re.findall(r"<text[^>]*>([^<]*)<", svg))  # no label cut short
