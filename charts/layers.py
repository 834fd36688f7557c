"""Across-layer charts: mean ± std band with min/max, and per-row variance as boxes and violins.

Only summaries reach the browser (quartiles, whiskers, a KDE outline per layer), never the rows.
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from analyses.layers import LayerSummary
from charts import MAX_ROWS


def stats_band(summaries: list[LayerSummary], slot: str) -> alt.VConcatChart:
    """Above: the mean per layer, mean ± std as a band, min and max dashed. Below, on its own axis: the std,
    which the reading talks about and which the value axis (stretched by min and max) would flatten."""
    df = pd.DataFrame([{"layer": s.layer, "mean": s.mean, "std": s.std, "min": s.min, "max": s.max,
                        "low": s.mean - s.std, "high": s.mean + s.std} for s in summaries])
    tips = ["layer", *(alt.Tooltip(f"{k}:Q", format=".4g") for k in ("mean", "std", "min", "max"))]
    x = alt.X("layer:Q", axis=alt.Axis(tickMinStep=1), scale=alt.Scale(nice=False))
    base = alt.Chart(df).encode(x=x)
    band = base.mark_area(opacity=0.25).encode(y=alt.Y("low:Q", title="weight value"), y2="high:Q", tooltip=tips)
    mean = base.mark_line(point=True).encode(y="mean:Q", tooltip=tips)
    extremes = base.transform_fold(["min", "max"], as_=["stat", "value"]).mark_line(strokeDash=[4, 3]).encode(
        y="value:Q", detail="stat:N", color=alt.value("gray"), tooltip=tips)
    std = base.mark_line(point=True, color="#d6604d").encode(
        y=alt.Y("std:Q", title="std", scale=alt.Scale(zero=False)), tooltip=tips)
    return alt.vconcat((band + extremes + mean).properties(height=240),
                       std.properties(height=140, title="std per layer (its own axis)")).properties(
        title=alt.TitleParams(f"{slot} across layers",
                              subtitle=["top: mean (line), mean ± std (band), min and max (dashed); "
                                        "below: std"]))


def box(summaries: list[LayerSummary]) -> alt.Chart:
    """Per-row variance per layer: box from Q1 to Q3, median tick, Tukey whiskers."""
    keys = ("q1", "median", "q3", "whisker_low", "whisker_high", "min", "max", "n", "n_outliers")
    df = pd.DataFrame([{"layer": s.layer, **{k: getattr(s.row_variance, k) for k in keys}}
                       for s in summaries if s.row_variance is not None], columns=["layer", *keys])
    tips = ["layer", "n", "n_outliers", *(alt.Tooltip(f"{k}:Q", format=".4g") for k in (
        "whisker_low", "q1", "median", "q3", "whisker_high", "min", "max"))]
    base = alt.Chart(df).encode(x=alt.X("layer:O"), tooltip=tips)
    whiskers = base.mark_rule().encode(y=alt.Y("whisker_low:Q", title="variance of a row"), y2="whisker_high:Q")
    boxes = base.mark_bar(size=16, color="#92c5de").encode(y="q1:Q", y2="q3:Q")
    medians = base.mark_tick(size=16, thickness=2, color="#b2182b").encode(y="median:Q")
    return (whiskers + boxes + medians).properties(height=320, title=alt.TitleParams(
        "Per-row variance per layer (box)",
        subtitle=["box: quartiles; red tick: median; whiskers: Tukey 1.5 IQR; outliers counted in the tooltip"]))


def violin(summaries: list[LayerSummary]) -> alt.Chart:
    """Per-row variance per layer as a Gaussian-KDE outline (computed in numpy), one panel per layer."""
    summaries = [s for s in summaries if s.row_variance is not None]  # None: no all-finite row
    points = max((s.row_variance.grid.size for s in summaries), default=0) or 1
    step = int(np.ceil(points * len(summaries) / (MAX_ROWS - 500)))  # thin the outlines for very deep models
    df = pd.DataFrame([{"layer": s.layer, "variance": x, "density": d}
                       for s in summaries for x, d in zip(s.row_variance.grid[::step], s.row_variance.density[::step])],
                      columns=["layer", "variance", "density"])
    if df.empty:
        return alt.Chart(pd.DataFrame({"text": ["every row has the same variance"]})).mark_text().encode(text="text")
    note = f"KDE outline at {points // step} points per layer" + (" (thinned)" if step > 1 else "")
    return alt.Chart(df).mark_area(orient="horizontal", opacity=0.7).encode(
        y=alt.Y("variance:Q", title="variance of a row"),
        x=alt.X("density:Q", stack="center", impute=None, title=None,
                axis=alt.Axis(labels=False, ticks=False, grid=False)),
        color=alt.Color("layer:N", legend=None),
        tooltip=["layer", alt.Tooltip("variance:Q", format=".4g"), alt.Tooltip("density:Q", format=".4g")],
    ).properties(width=70, height=300).facet(
        column=alt.Column("layer:N", header=alt.Header(labelOrient="bottom")), spacing=0,
    ).properties(title=alt.TitleParams("Per-row variance per layer (violin)", subtitle=[note]))
