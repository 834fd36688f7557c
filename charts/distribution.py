"""Charts of a weight matrix's value distribution: histogram with the fitted normal, and per layer."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from analyses.distribution import DistributionStats, Histogram, normal_pdf


def histogram(h: Histogram, s: DistributionStats, title: str, log_scale: bool = False) -> alt.Chart:
    """Bars of density per bin (binned in numpy) with the fitted normal's pdf drawn over them.

    Density rather than counts, so the normal curve sits on the same axis; counts are in the tooltip.
    On a log axis empty bins are left out (log 0 is undefined) and the normal is cut a decade below
    the smallest bar, so its tails do not stretch the axis.
    """
    if len(h.counts) == 0:
        return _message(title, "no finite value to draw")
    bars = pd.DataFrame({"from": h.edges[:-1], "to": h.edges[1:], "count": h.counts, "density": h.density})
    x = np.linspace(h.edges[0], h.edges[-1], 400)
    has_normal = bool(np.isfinite(s.std) and s.std > 0)  # a constant matrix has no fitted normal to draw
    curve = pd.DataFrame({"value": x, "density": normal_pdf(x, s.mean, s.std) if has_normal else np.nan})
    curve = curve.dropna()
    bars["base"] = 0.0
    if log_scale:
        bars = bars[bars["count"] > 0].copy()
        floor = bars["density"].min() / 10
        bars["base"] = floor  # bars rise from just below the smallest one: log 0 does not exist
        curve = curve[curve["density"] >= floor]
    y_scale = alt.Scale(type="log") if log_scale else alt.Scale()
    # rect with explicit x2/y2: a bar mark given x and x2 would be read as a horizontal range bar
    hist = alt.Chart(bars).mark_rect(opacity=0.75).encode(
        x=alt.X("from:Q", title="weight value"), x2="to:Q",
        y=alt.Y("density:Q", scale=y_scale, title="density" + (" (log)" if log_scale else "")), y2="base:Q",
        tooltip=[alt.Tooltip("from:Q", format=".4g"), alt.Tooltip("to:Q", format=".4g"),
                 alt.Tooltip("count:Q", format=","), alt.Tooltip("density:Q", format=".4g")],
    )
    normal = alt.Chart(curve).mark_line(color="firebrick").encode(
        x="value:Q", y=alt.Y("density:Q", scale=y_scale),
        tooltip=[alt.Tooltip("value:Q", format=".4g"), alt.Tooltip("density:Q", title="normal pdf", format=".4g")],
    )
    subtitle = (f"{int(h.counts.sum()):,} values in {len(h.counts)} bins; red: normal(mean {s.mean:.3g}, "
                f"std {s.std:.3g}); drag to pan, scroll to zoom")
    return (hist + normal).properties(title=alt.TitleParams(title, subtitle=subtitle), height=360).interactive(
        bind_y=False)


def _message(title: str, text: str) -> alt.Chart:
    """A chart holding one line of text, where there is nothing to draw."""
    return alt.Chart(pd.DataFrame({"text": [text]})).mark_text(size=14).encode(text="text:N").properties(
        title=title, height=80)


def by_layer(rows: list[dict]) -> alt.Chart:
    """Std, skewness and excess kurtosis per layer, one small panel each."""
    df = pd.DataFrame(rows).melt(id_vars=["layer"], value_vars=["std", "skew", "kurtosis"], var_name="statistic")
    return alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("layer:O"), y=alt.Y("value:Q", title=None),
        tooltip=["layer", "statistic", alt.Tooltip("value:Q", format=".4g")],
    ).properties(width=220, height=160).facet(
        column=alt.Column("statistic:N", title=None, sort=["std", "skew", "kurtosis"])
    ).resolve_scale(y="independent").properties(title="Per layer")
