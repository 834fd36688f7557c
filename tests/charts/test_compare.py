"""charts.compare, rendered: a low-rank change's spectrum is drawn (its exact zeros left out, and said), and
layer maps keep a labelled row per layer however Streamlit stretches them."""
import re

import numpy as np
import vl_convert as vlc

from charts import compare as charts


def test_delta_spectrum_leaves_out_exact_zeros_and_says_so():
    s = np.concatenate([[3.0, 1.0], np.zeros(382)])  # a rank-2 change of a 384 x 384 matrix
    spec = charts.delta_spectrum(s).to_dict()
    (rows,) = spec["datasets"].values()
    assert [r["singular value"] for r in rows] == [3.0, 1.0]  # log(0) would blank the whole line
    assert "382 exact zeros not drawn" in spec["title"]["subtitle"]
    assert len(charts.delta_spectrum(np.array([2.0, 1.0])).to_dict()["title"]["subtitle"].split(";")) == 1


def test_head_change_map_labels_every_layer_at_the_page_width():
    grid = [{"slot": "attn.W_Q", "layer": l, "head": h, "rel_change": 0.01 * l} for l in range(12) for h in range(12)]
    spec = charts.head_change_map(grid, "attn.W_Q").to_dict()
    assert spec["autosize"]["type"] == "fit-x"  # Streamlit's plain "fit" squeezed 6 layers into 60 px
    texts = re.findall(r"<text[^>]*>([^<]*)<", vlc.vegalite_to_svg(dict(spec, width=500)))
    assert all(str(layer) in texts for layer in range(12))


def test_an_unchanged_slot_has_a_readable_scale():
    grid = [{"slot": "attn.W_K", "layer": l, "head": h, "rel_change": 0.0} for l in range(2) for h in range(2)]
    assert charts.head_change_map(grid, "attn.W_K").to_dict()["encoding"]["color"]["scale"]["domain"] == [0, 1.0]
