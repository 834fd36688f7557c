"""charts.spectral: the per-head heatmap's colours are the verdict's bands, with every layer labelled."""
import re

import vl_convert as vlc

from analyses import spectral_reading
from charts import spectral as charts


def _rows(n_layers=12, n_heads=12):
    # a planted pattern: alphas from 1 to 9 so every band and both edges occur
    alphas = [1.0, 1.99, 2.0, 4.0, 6.0, 6.01, 9.0]
    return [{"layer": l, "head": h, "slot": "attn.QK", "alpha": alphas[(l + h) % len(alphas)]}
            for l in range(n_layers) for h in range(n_heads)]


def test_heatmap_colours_agree_with_the_verdict_and_draw_the_thresholds():
    rows = _rows()
    spec = charts.head_heatmap(rows, "attn.QK").to_dict()
    color = spec["encoding"]["color"]
    assert color["field"] == "band" and color["scale"]["domain"] == list(charts.BANDS)
    assert "alpha < 2" in charts.BANDS[0] and "alpha > 6" in charts.BANDS[2]
    data = next(iter(spec["datasets"].values()))
    for cell in data:  # every cell's colour says what the reading says of it
        judged = spectral_reading.judgement(cell["value"])
        want = {"looks over-fit": 0, "in the well-trained range": 1, "looks under-trained": 2}[judged]
        assert cell["band"] == charts.BANDS[want]
    assert spec["height"] == {"step": 20} and spec["encoding"]["y"]["axis"]["labelOverlap"] is False


def test_heatmap_svg_labels_every_layer_and_the_legend_is_not_clipped():
    svg = vlc.vegalite_to_svg(charts.head_heatmap(_rows(n_layers=24), "attn.QK").to_json())
    texts = [t.replace("&lt;", "<").replace("&gt;", ">") for t in re.findall(r"<text[^>]*>([^<]*)<", svg)]
    assert all(str(layer) in texts for layer in range(24))
    assert all(band in texts for band in charts.BANDS)  # whole, not ellipsised
    assert not any("…" in t for t in texts)


def test_other_metrics_keep_a_continuous_scale():
    rows = [dict(r, stable_rank=float(r["layer"])) for r in _rows()]
    color = charts.head_heatmap(rows, "attn.QK", "stable_rank").to_dict()["encoding"]["color"]
    assert color["type"] == "quantitative"


def test_metric_by_layer_has_one_readable_axis_title():
    rows = [{"layer": l, "slot": "attn.W_Q", "name": f"blocks.{l}.attn.W_Q", "alpha": 3.0 + l} for l in range(4)]
    texts = re.findall(r"<text[^>]*>([^<]*)<", vlc.vegalite_to_svg(charts.metric_by_layer(rows).to_json()))
    assert "alpha (power-law tail exponent)" in texts and "alpha by layer and matrix" in texts
    assert not any("," in t and "alpha" in t for t in texts)  # the band and the lines share one title
