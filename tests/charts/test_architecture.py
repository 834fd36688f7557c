"""charts.architecture: every category labelled with its share, nothing clipped, no text drawn on the bars."""
import re

import vl_convert as vlc

from charts import architecture as charts


def _texts(chart) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)<", vlc.vegalite_to_svg(chart.to_json()))


def test_every_category_has_a_whole_label_with_its_share():
    counts = {"attention": 28_311_552, "mlp": 56_623_104, "embedding": 38_597_376, "positional": 786_432,
              "norm": 38_400, "unembed": 0, "other": 12, "buffer": 3}
    total = sum(counts.values())
    chart = charts.by_category(counts)
    spec = chart.to_dict()
    assert spec["mark"]["type"] == "bar" and "layer" not in spec  # no text layer to clip or to vanish in dark mode
    texts = _texts(chart)
    for label, n in [("feed-forward", counts["mlp"]), ("attention", counts["attention"]), ("norm", 38_400),
                     ("other", 12)]:
        assert f"{label} ({n / total:.1%})" in texts  # every row labelled, none thinned out
    assert not any("…" in t for t in texts)


def test_storage_bars_label_bits_a_weight():
    rows = [{"stored": "F8_E4M3", "bytes": 1000, "params": 900, "bits_per_weight": 8.89, "tensors": 14},
            {"stored": "F32", "bytes": 400, "params": 100, "bits_per_weight": 32.0, "tensors": 3}]
    texts = _texts(charts.by_storage(rows))
    assert "F8_E4M3 (8.89 bits a weight)" in texts and "F32 (32 bits a weight)" in texts
