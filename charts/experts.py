"""Mixture-of-experts charts: a metric per layer and expert, and one layer's expert-to-expert cosines."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from analyses.spectral import OVER_TRAINED, UNDER_TRAINED
from charts import FIT_WIDTH


def layer_by_expert(values: np.ndarray, layers: list[int], metric: str, title: str) -> alt.Chart:
    """values (n_layers, n_experts) as a heatmap, layers down, experts across; alpha on a scale whose
    colours change at the well-trained band's edges (2 and 6), so the colour says the verdict."""
    df = pd.DataFrame([{"layer": l, "expert": e, "value": float(v) if np.isfinite(v) else None}
                       for i, l in enumerate(layers) for e, v in enumerate(values[i])])
    if metric == "alpha":
        scale = alt.Scale(domain=[0, OVER_TRAINED, UNDER_TRAINED, max(12.0, float(np.nanmax(values, initial=0)))],
                          range=["#762a83", "#1a9850", "#fee08b", "#d73027"])
        legend = alt.Legend(title="alpha (2-6: well trained)")
    else:
        scale, legend = alt.Scale(scheme="viridis"), alt.Legend(title=metric)
    n_layers, n_experts = values.shape
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("expert:O", title="expert", axis=alt.Axis(labelOverlap=True)),
        y=alt.Y("layer:O", title="layer"),
        color=alt.Color("value:Q", scale=scale, legend=legend),
        tooltip=["layer", "expert", alt.Tooltip("value:Q", format=".4g", title=metric)],
    ).properties(title=title, height=map_height(n_layers), autosize=FIT_WIDTH)


def map_height(n_layers: int) -> int:
    """Pixels of plot for a layer x expert (or head, or checkpoint) map: 18 a layer, so every row is labelled.
    The chart's title and axes come on top (autosize FIT_WIDTH)."""
    return max(120, min(18 * n_layers, 900))


def similarity(cosine: np.ndarray, order: np.ndarray, title: str, subtitle: str = "") -> alt.Chart:
    """Cosine between every pair of experts, rows and columns in clustering order (alike experts adjacent)."""
    labels = [str(e) for e in order]
    df = pd.DataFrame([{"a": str(a), "b": str(b), "cosine": float(cosine[a, b]) if np.isfinite(cosine[a, b]) else None}
                       for a in order for b in order])
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("a:N", sort=labels, title="expert"), y=alt.Y("b:N", sort=labels, title="expert"),
        color=alt.Color("cosine:Q", scale=alt.Scale(scheme="redblue", domain=[-1, 1], reverse=True)),
        tooltip=["a", "b", alt.Tooltip("cosine:Q", format=".3f")],
    ).properties(title=alt.TitleParams(title, subtitle=subtitle), width=side(len(order)), height=side(len(order)))


def side(n_experts: int) -> int:
    """Pixels per side of the expert-to-expert map: 40 per expert, within 300-600 (300: room for its title)."""
    return max(300, min(40 * n_experts, 600))
