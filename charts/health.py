"""Tensor health charts: one number per tensor (largest |w| or excess kurtosis), by layer."""
from __future__ import annotations

import altair as alt
import pandas as pd

from adapters.schema import CATEGORIES

METRICS = {"max_abs": "largest |weight|", "kurtosis": "excess kurtosis"}
OUTSIDE = "outside"  # the x position of tensors outside the layers (embeddings, final norm, head)


def by_layer(rows: list[dict], metric: str = "max_abs") -> alt.Chart:
    """A point per tensor at its layer (embeddings and the head at 'outside'), coloured by category, on a
    symmetric-log axis so a few extreme tensors do not flatten the rest. `rows` from topics.health.chart_rows."""
    df = pd.DataFrame([{"tensor": r["tensor"], "category": CATEGORIES.get(r["category"], r["category"]),
                        "layer": OUTSIDE if r["layer"] is None else str(r["layer"]), "value": r[metric]}
                       for r in rows if r[metric] is not None], columns=["tensor", "category", "layer", "value"])
    layers = sorted({int(x) for x in df["layer"] if x != OUTSIDE})
    order = [OUTSIDE] * (OUTSIDE in set(df["layer"])) + [str(x) for x in layers]
    return alt.Chart(df).mark_circle(size=60, opacity=0.75).encode(
        x=alt.X("layer:N", sort=order, title="layer", axis=alt.Axis(labelAngle=0, labelOverlap=False)),
        y=alt.Y("value:Q", title=METRICS[metric], scale=alt.Scale(type="symlog")),
        color=alt.Color("category:N", title="category", legend=alt.Legend(labelLimit=0)),
        tooltip=["tensor", "category", "layer", alt.Tooltip("value:Q", format=".4g", title=METRICS[metric])],
    ).properties(height=320, title=alt.TitleParams(f"{METRICS[metric].capitalize()} per tensor, by layer",
                                                   subtitle=["one point per stored weight tensor; buffers left "
                                                             "out; symmetric log axis"], anchor="start"))
