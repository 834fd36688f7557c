"""Attention-head charts: per-head weight tiles, a layer x head map, the depth trend, a dendrogram."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from analyses.matrices import downsample
from charts import MAX_ROWS

_TABLEAU = ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6",
            "#9d755d", "#bab0ac"]
ABOVE_CUT = "above the cut"


def head_tiles(tiles: np.ndarray, labels: list[str], full_shape: tuple[int, int], axes: tuple[str, str],
               title: str, columns: int = 6) -> alt.FacetChart:
    """One small heatmap per head, side by side, from block means `tiles` (n_heads, rows, cols)."""
    n, r, c = tiles.shape
    assert n * r * c <= MAX_ROWS, "downsample the tiles first (analyses.heads.head_tiles)"
    rr, cc = np.meshgrid(np.arange(r), np.arange(c), indexing="ij")
    df = pd.concat([pd.DataFrame({"head": labels[h], "order": h, "row": rr.ravel(), "col": cc.ravel(),
                                  "value": tiles[h].ravel()}) for h in range(n)], ignore_index=True)
    limit = float(np.abs(tiles).max()) or 1.0  # symmetric, shared by every head so tiles compare
    chart = alt.Chart(df).mark_rect().encode(
        x=alt.X("col:O", axis=None, title=axes[1]), y=alt.Y("row:O", axis=None, title=axes[0]),
        color=alt.Color("value:Q", scale=alt.Scale(scheme="redblue", domain=[-limit, limit], reverse=True),
                        title="block mean"),
        tooltip=["head", "row", "col", alt.Tooltip("value:Q", format=".4f")],
    ).properties(width=max(40, 90 * c // max(r, c)), height=max(40, 90 * r // max(r, c)))
    a, b = full_shape
    return chart.facet(facet=alt.Facet("head:N", sort=alt.SortField("order"), title=None), columns=columns).properties(
        title=alt.TitleParams(title, subtitle=f"each head's {a}×{b} matrix ({axes[0]} × {axes[1]}) as "
                                             f"{r}×{c} block means, to stay under {MAX_ROWS} cells"))


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
    if len(points) + len(means) > MAX_ROWS:  # too many heads to draw one by one: show the range instead
        points = pd.DataFrame({"layer": np.arange(n_layers), "lo": values.min(axis=1), "hi": values.max(axis=1)})
        spread = alt.Chart(points).mark_area(opacity=0.3).encode(x="layer:Q", y="lo:Q", y2="hi:Q")
    else:
        spread = alt.Chart(points).mark_circle(opacity=0.5, size=25).encode(
            x="layer:Q", y=alt.Y("value:Q", title=None), tooltip=["layer", "head", alt.Tooltip("value:Q", format=".4g")])
    line = alt.Chart(means).mark_line(point=True, color="black").encode(
        x=alt.X("layer:Q", axis=alt.Axis(tickMinStep=1, format="d")), y="value:Q")
    return (spread + line).properties(title=f"{label}: heads and layer mean by depth")


def dendrogram(links: list[dict], leaves: list[dict], title: str) -> alt.VConcatChart:
    """Ward dendrogram from analyses.heads.dendrogram_links: links coloured by the cluster they lie in."""
    n_clusters = max((leaf["cluster"] for leaf in leaves), default=0)
    domain = [f"cluster {i}" for i in range(1, n_clusters + 1)] + [ABOVE_CUT]
    colors = alt.Scale(domain=domain, range=[_TABLEAU[i % len(_TABLEAU)] for i in range(n_clusters)] + ["#aaaaaa"])
    name = lambda i: f"cluster {i}" if i else ABOVE_CUT
    link_df = pd.DataFrame([{**link, "cluster": name(link["cluster"])} for link in links])
    leaf_df = pd.DataFrame([{**leaf, "cluster": name(leaf["cluster"])} for leaf in leaves])
    width = max(300, min(1400, 9 * len(leaves)))
    x = alt.X("x:Q", axis=None, scale=alt.Scale(domain=[0, 10 * len(leaves)]))
    drawn = alt.Chart(link_df).mark_rule().encode(
        x=x, x2="x2:Q", y=alt.Y("y:Q", title="Ward merge distance"), y2="y2:Q",
        color=alt.Color("cluster:N", scale=colors, title=None))
    # leaf names in a strip below the tree, reading upwards, so long labels ('L11H7') never overlap links
    names = alt.Chart(leaf_df).mark_text(angle=270, align="right", dx=-2, fontSize=9).encode(
        x=x, y=alt.value(0), text="label:N", color=alt.Color("cluster:N", scale=colors, title=None),
        tooltip=["label", "cluster"])
    return alt.vconcat(drawn.properties(width=width, height=260, title=title),
                       names.properties(width=width, height=50), spacing=0).resolve_scale(color="shared")
