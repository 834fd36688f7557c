"""Charts of how two checkpoints differ."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from adapters import schema


def change_map(diffs) -> alt.Chart:
    """Relative change per layer and slot (a heatmap), or per tensor when there are no layers."""
    rows = []
    for d in diffs:
        key = schema.parse(d.name)
        rows.append({"tensor": d.name, "layer": "–" if key.layer is None else str(key.layer), "slot": key.slot,
                     "relative change": d.rel_change, "cosine": d.cosine, "max |Δ|": d.max_abs})
    df = pd.DataFrame(rows)
    order = sorted(df["layer"].unique(), key=lambda v: (v != "–", int(v) if v.isdigit() else -1))
    tooltip = ["tensor", alt.Tooltip("relative change:Q", format=".3%"), alt.Tooltip("cosine:Q", format=".4f"),
               alt.Tooltip("max |Δ|:Q", format=".3g")]
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("layer:O", sort=order), y=alt.Y("slot:N", title=None),
        color=alt.Color("relative change:Q", scale=alt.Scale(scheme="viridis")), tooltip=tooltip,
    ).properties(title="Relative change ||B − A|| / ||A|| per tensor")


def delta_histogram(delta: np.ndarray, bins: int = 80) -> alt.Chart:
    counts, edges = np.histogram(delta[np.isfinite(delta)], bins=bins)
    df = pd.DataFrame({"from": edges[:-1], "to": edges[1:], "count": counts})
    return alt.Chart(df).mark_bar().encode(
        x=alt.X("from:Q", title="B − A"), x2="to:Q", y=alt.Y("count:Q", scale=alt.Scale(type="symlog")),
        tooltip=["from", "to", "count"]).properties(title="Element-wise change (symlog counts)")


def delta_spectrum(s: np.ndarray) -> alt.Chart:
    energy = s ** 2 / max(float(np.sum(s ** 2)), 1e-30)
    df = pd.DataFrame({"index": np.arange(1, len(s) + 1), "singular value": s, "cumulative energy": np.cumsum(energy)})
    if len(df) > 2000:
        df = df.iloc[np.unique(np.geomspace(1, len(df), 2000).astype(int) - 1)]
    return alt.Chart(df).mark_line(point=len(df) < 80).encode(
        x=alt.X("index:Q", scale=alt.Scale(type="log"), title="singular value index"),
        y=alt.Y("singular value:Q", scale=alt.Scale(type="log")),
        tooltip=["index", alt.Tooltip("singular value:Q", format=".4g"),
                 alt.Tooltip("cumulative energy:Q", format=".1%")]).properties(
        title="Singular values of the change (a few large ones = low-rank update)")
