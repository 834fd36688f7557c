"""Attention-head charts: per-head weight tiles, a layer x head map, the depth trend, a dendrogram."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from analyses.matrices import downsample
from charts import FIT_WIDTH, MAX_ROWS

_TABLEAU = ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6",
            "#9d755d", "#bab0ac"]
ABOVE_CUT = "above the cut"


def head_tiles(tiles: np.ndarray, labels: list[str], full_shape: tuple[int, int], axes: tuple[str, str],
               title: str, per_row: int = 16) -> alt.LayerChart:
    """One small heatmap per head, laid out in one chart as wide as the page, from block means `tiles` (n, rows, cols).

    One chart rather than a facet: a facet's panels have fixed pixel sizes, so 12 heads filled a third of a wide page;
    a single chart with width "container" stretches every tile to share the page. Up to `per_row` heads a row, rows
    balanced (32 heads: two rows of 16; 40: three of 14, 13, 13)."""
    n, r, c = tiles.shape
    assert n * r * c <= MAX_ROWS, "downsample the tiles first (analyses.heads.head_tiles)"
    n_rows = -(-n // per_row)
    columns = -(-n // n_rows)
    tile_px = 150 if r > 2 * c else 100  # tall tiles (W_Q's d_model x d_head) get more height
    gap_x = max(1.0, 0.15 * c)  # in cells: tiles stay apart at any width
    label = r * 22 / tile_px  # room above each tile for its name, ~22 px, in cells
    head = np.arange(n)
    left = (head % columns) * (c + gap_x)  # (n,) each tile's corner, in cell units
    top = (head // columns) * (r + label) + label
    hh, rr, cc = np.meshgrid(head, np.arange(r), np.arange(c), indexing="ij")  # (n, r, c)
    cells = pd.DataFrame({"head": np.asarray(labels)[hh.ravel()], "row": rr.ravel(), "col": cc.ravel(),
                          "x": (left[hh] + cc).ravel(), "y": (top[hh] + rr).ravel(), "value": tiles.ravel()})
    cells["x2"], cells["y2"] = cells["x"] + 1, cells["y"] + 1
    finite = np.abs(tiles[np.isfinite(tiles)])
    limit = float(finite.max()) if finite.size and finite.max() > 0 else 1.0  # symmetric, shared so tiles compare
    x_scale = alt.Scale(domain=[0, columns * (c + gap_x) - gap_x], nice=False, zero=False)
    y_scale = alt.Scale(domain=[0, n_rows * (r + label)], nice=False, zero=False, reverse=True)
    x, y = alt.X("x:Q", axis=None, scale=x_scale), alt.Y("y:Q", axis=None, scale=y_scale)
    blocks = alt.Chart(cells).mark_rect().encode(
        x=x, x2="x2", y=y, y2="y2",
        color=alt.Color("value:Q", scale=alt.Scale(scheme="redblue", domain=[-limit, limit], reverse=True),
                        title="block mean", legend=alt.Legend(gradientLength=min(200, n_rows * tile_px))),
        tooltip=["head", alt.Tooltip("row:Q", title=f"{axes[0]} block"), alt.Tooltip("col:Q", title=f"{axes[1]} block"),
                 alt.Tooltip("value:Q", format=".4f")])
    names = alt.Chart(pd.DataFrame({"head": labels, "x": left + c / 2, "y": top})).mark_text(
        baseline="bottom", dy=-2, fontSize=11).encode(x=x, y=y, text="head:N")
    a, b = full_shape
    return (blocks + names).properties(
        width="container", height=int(n_rows * (tile_px + 22)), autosize=FIT_WIDTH,
        title=alt.TitleParams(title, subtitle=f"each head's {a}×{b} matrix ({axes[0]} down, {axes[1]} across) as "
                                             f"{r}×{c} block means, to stay under {MAX_ROWS} cells")
    ).configure_view(strokeWidth=0)


def layer_head_map(values: np.ndarray, label: str, domain: tuple[float, float] | None = None) -> alt.Chart:
    """Heatmap of one statistic, layers down, heads across (heads averaged in groups if too many). A score with a
    fixed range (`domain`: copying in [-1, 1], previous-token in [0, 1]) is drawn on it, diverging around 0 when the
    range spans 0, so a colour means the same score in every model."""
    n_layers, n_heads = values.shape
    blocks = downsample(values, (n_layers, MAX_ROWS // n_layers))
    group = blocks.block[1]
    layers, heads = np.meshgrid(np.arange(n_layers), blocks.col_edges[:-1], indexing="ij")  # a group by its first head
    df = pd.DataFrame({"layer": layers.ravel(), "head": heads.ravel(), "value": blocks.values.ravel()})
    note = f" (heads averaged in groups of {group})" if group > 1 else ""
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("head:O"), y=alt.Y("layer:O"), color=alt.Color("value:Q", scale=_score_scale(domain), title=None),
        tooltip=["layer", "head", alt.Tooltip("value:Q", format=".4g")],
    ).properties(title=label + note)


def _score_scale(domain: tuple[float, float] | None) -> alt.Scale:
    if domain is None:
        return alt.Scale(scheme="viridis")
    if domain[0] < 0 < domain[1]:
        return alt.Scale(scheme="redblue", domain=list(domain), domainMid=0, reverse=True)
    return alt.Scale(scheme="viridis", domain=list(domain))


def depth_trend(values: np.ndarray, label: str) -> alt.LayerChart:
    """Each head as a point per layer, with the layer mean as a line."""
    n_layers, n_heads = values.shape
    layers, heads = np.meshgrid(np.arange(n_layers), np.arange(n_heads), indexing="ij")
    points = pd.DataFrame({"layer": layers.ravel(), "head": heads.ravel(), "value": values.ravel()})
    means = pd.DataFrame({"layer": np.arange(n_layers), "value": values.mean(axis=1)})
    fitted = alt.Scale(zero=False)  # norms of 0.71-0.78 drawn from 0 were a flat line at the top
    if len(points) + len(means) > MAX_ROWS:  # too many heads to draw one by one: show the range instead
        points = pd.DataFrame({"layer": np.arange(n_layers), "lo": values.min(axis=1), "hi": values.max(axis=1)})
        spread = alt.Chart(points).mark_area(opacity=0.3).encode(x="layer:Q", y=alt.Y("lo:Q", scale=fitted), y2="hi:Q")
    else:
        spread = alt.Chart(points).mark_circle(opacity=0.5, size=25).encode(
            x="layer:Q", y=alt.Y("value:Q", title=None, scale=fitted), tooltip=["layer", "head", alt.Tooltip("value:Q", format=".4g")])
    line = alt.Chart(means).mark_line(point=True, color="black").encode(
        x=alt.X("layer:Q", axis=alt.Axis(tickMinStep=1, format="d")), y=alt.Y("value:Q", scale=fitted))
    return (spread + line).properties(title=alt.TitleParams(f"{label} by depth",
                                                            subtitle="each head a point, the layer mean a line"))


def dendrogram(links: list[dict], leaves: list[dict], title: str, leaf_px: int = 13) -> alt.LayerChart:
    """Ward dendrogram from analyses.heads.dendrogram_links, drawn sideways: one row of `leaf_px` per head, its name
    written level at the left, merge distance across, links coloured by the cluster they lie in.

    Sideways because names under an upright tree get ~8 px each at 144 heads (GPT-2, all layers) and overlap, while
    rows grow down the page as far as they need and stay readable at any head count."""
    n_clusters = max((leaf["cluster"] for leaf in leaves), default=0)
    domain = [f"cluster {i}" for i in range(1, n_clusters + 1)] + [ABOVE_CUT]
    colors = alt.Scale(domain=domain, range=[_TABLEAU[i % len(_TABLEAU)] for i in range(n_clusters)] + ["#aaaaaa"])
    name = lambda i: f"cluster {i}" if i else ABOVE_CUT
    link_df = pd.DataFrame([{**link, "cluster": name(link["cluster"])} for link in links])
    leaf_df = pd.DataFrame([{**leaf, "cluster": name(leaf["cluster"]), "distance": 0.0} for leaf in leaves])
    color = alt.Color("cluster:N", scale=colors, title=None, legend=alt.Legend(orient="top"))
    position = alt.Scale(domain=[0, 10 * len(leaves)], nice=False, zero=False)  # scipy puts leaf i at 10 i + 5
    drawn = alt.Chart(link_df).mark_rule().encode(
        y=alt.Y("x:Q", axis=None, scale=position), y2="x2:Q",
        x=alt.X("y:Q", title="Ward merge distance", axis=alt.Axis(orient="top", grid=False)), x2="y2:Q", color=color)
    names = alt.Chart(leaf_df).mark_text(align="right", baseline="middle", dx=-4, fontSize=11).encode(
        y=alt.Y("x:Q", axis=None, scale=position), x=alt.X("distance:Q"), text="label:N", color=color,
        tooltip=["label", "cluster"])
    return (drawn + names).properties(width="container", height=max(120, leaf_px * len(leaves)), title=title,
                                      autosize=FIT_WIDTH).configure_view(strokeWidth=0)
