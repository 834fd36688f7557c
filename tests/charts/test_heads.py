"""charts.heads, rendered to SVG: head tiles share the page's width, and the dendrogram's names stay apart at 144 heads."""
import re

import numpy as np
import pytest
import vl_convert as vlc

from analyses import heads
from charts import heads as charts

PAGE_PX = 1100  # what st.altair_chart(width="stretch") gives a chart on a wide page at 1400 px


def _svg(chart) -> str:
    spec = chart.to_dict()
    assert spec["width"] == "container"  # stretched by the page (and the report's column), never a fixed size
    return vlc.vegalite_to_svg(dict(spec, width=PAGE_PX))


def _texts(svg: str) -> list[tuple[str, float, float]]:
    """(text, x, y) of every text mark (the chart's own names, not its axes, legend or title)."""
    found = re.findall(r'<text[^>]*aria-roledescription="text mark"[^>]*transform="translate\(([-\d.]+),([-\d.]+)\)"'
                       r'[^>]*>([^<]*)<', svg)
    return [(t, float(x), float(y)) for x, y, t in found]


def _labels(n_layers: int, n_heads: int) -> list[str]:
    return [f"L{l}H{h}" for l in range(n_layers) for h in range(n_heads)]


@pytest.mark.parametrize("n, rows", [(12, 1), (32, 2), (40, 3)])
def test_head_tiles_fill_the_width_in_balanced_rows(n, rows):
    tiles = np.random.default_rng(n).normal(size=(n, 12, 8))
    names = [f"H{h}" for h in range(n)]
    spec = charts.head_tiles(tiles, names, (384, 32), ("d_model", "d_head"), "W_Q").to_dict()
    assert "facet" not in spec  # a facet's panels have fixed sizes: 12 heads filled a third of the page
    shown = _texts(_svg(charts.head_tiles(tiles, names, (384, 32), ("d_model", "d_head"), "W_Q")))
    assert sorted(t for t, _, _ in shown) == sorted(names)
    ys = sorted({y for _, _, y in shown})
    assert len(ys) == rows
    xs = sorted(x for _, x, y in shown if y == ys[0])
    per_row = -(-n // rows)
    assert len(xs) == per_row
    assert xs[-1] - xs[0] > 0.85 * PAGE_PX * (per_row - 1) / per_row  # the first row spans the page
    assert min(np.diff(xs)) > 45  # each name has room (the longest, 'H39', is ~20 px)


def test_head_tiles_colour_scale_ignores_broken_values():
    tiles = np.ones((2, 3, 3))
    tiles[0, 0, 0] = np.nan
    tiles[1, 1, 1] = np.inf
    spec = charts.head_tiles(tiles, ["H0", "H1"], (6, 6), ("a", "b"), "t").to_dict()
    assert spec["layer"][0]["encoding"]["color"]["scale"]["domain"] == [-1.0, 1.0]


@pytest.mark.parametrize("n_layers", [1, 12])
def test_dendrogram_names_every_head_level_and_apart(n_layers):
    labels = _labels(n_layers, 12)  # 12 or GPT-2's 144 heads
    features = np.random.default_rng(n_layers).normal(size=(len(labels), 6))
    links, leaves = heads.dendrogram_links(heads.ward(features, labels), 4)
    svg = _svg(charts.dendrogram(links, leaves, "Ward clustering"))
    shown = _texts(svg)
    assert sorted(t for t, _, _ in shown) == sorted(labels)  # every head named, none truncated
    assert "rotate" not in " ".join(re.findall(r"<text[^>]*>L\d+H\d+<", svg))  # level, not turned on its side
    ys = sorted(y for _, _, y in shown)
    assert min(np.diff(ys)) >= 11  # one 11 px line of text per head: no two names overlap
    assert len({x for _, x, _ in shown}) == 1  # in one column, beside the leaves
