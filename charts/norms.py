"""Norm-gain charts: the robust z-score of every gain (norms x dimensions) and each norm's gain profile."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from analyses.matrices import downsample, grid_for_cells
from charts import MAX_ROWS

_Z_LIMIT = 12.0  # colour scale's end, in robust standard deviations: outliers (> 6) are saturated red or blue


def z_map(z: np.ndarray, labels: list[str]) -> alt.Chart:
    """Norms (rows, depth order) x dimensions; wide models are reduced by block max-|z|, so an outlier
    dimension is never averaged away."""
    n, d = z.shape
    blocks = downsample(np.nan_to_num(z, nan=0.0), grid_for_cells(n, d, MAX_ROWS - 1), "maxabs")
    r0, c0, c1 = blocks.row_edges[:-1], blocks.col_edges[:-1], blocks.col_edges[1:]
    rr, cc = np.meshgrid(np.arange(len(r0)), np.arange(len(c0)), indexing="ij")
    df = pd.DataFrame({"norm": np.array(labels)[r0[rr.ravel()]], "order": r0[rr.ravel()],
                       "dim_start": c0[cc.ravel()], "dim_end": c1[cc.ravel()],
                       "z": blocks.values.ravel().astype(float)})
    subtitle = ("robust z of each gain within its norm; "
                + (f"{blocks.block[1]} dimensions per cell, by largest |z|" if blocks.reduced else "every dimension"))
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("dim_start:Q", title="residual dimension", scale=alt.Scale(domain=[0, d], nice=False)),
        x2="dim_end:Q",
        y=alt.Y("norm:N", sort=alt.SortField("order"), title=None),
        color=alt.Color("z:Q", title="robust z", scale=alt.Scale(scheme="redblue", reverse=True,
                                                                 domain=[-_Z_LIMIT, _Z_LIMIT], clamp=True)),
        tooltip=["norm:N", "dim_start:Q", alt.Tooltip("z:Q", format=".1f")],
    ).properties(height=alt.Step(16), title=alt.TitleParams("Norm gains that stand out", subtitle=[subtitle]))


def profile(gains: np.ndarray, labels: list[str]) -> alt.Chart:
    """Each norm's median gain, with its 1st-99th percentile band and its extremes, in depth order."""
    rows = []
    for i, (label, g) in enumerate(zip(labels, gains)):
        g = g[np.isfinite(g)]
        if g.size:
            p1, med, p99 = np.percentile(g, [1, 50, 99])
            rows.append({"order": i, "norm": label, "median": med, "p1": p1, "p99": p99,
                         "min": g.min(), "max": g.max()})
    df = pd.DataFrame(rows, columns=["order", "norm", "median", "p1", "p99", "min", "max"])  # empty: no finite gain
    tips = ["norm:N", *(alt.Tooltip(f"{k}:Q", format=".3g") for k in ("min", "p1", "median", "p99", "max"))]
    base = alt.Chart(df).encode(x=alt.X("norm:N", sort=alt.SortField("order"), title=None), tooltip=tips)
    band = base.mark_area(opacity=0.25).encode(y=alt.Y("p1:Q", title="gain"), y2="p99:Q")
    extremes = base.transform_fold(["min", "max"], as_=["stat", "value"]).mark_point(shape="cross").encode(
        y="value:Q", detail="stat:N", color=alt.value("gray"))
    median = base.mark_line(point=True).encode(y="median:Q")
    return (band + extremes + median).properties(height=280, title=alt.TitleParams(
        "Gain of each norm", subtitle=["line: median gain; band: 1st-99th percentile; crosses: min and max"]))
