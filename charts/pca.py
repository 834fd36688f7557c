"""PCA charts: cumulative explained variance per layer, PC1/PC2 scatter, 90%-count across layers."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from analyses.pca import THRESHOLD, LayerPCA
from charts import FIT_WIDTH, MAX_ROWS

BUDGET = MAX_ROWS - 500  # rows per chart, shared between the layers drawn


def _curve_points(n: int, keep: int) -> np.ndarray:
    """Component indices to draw: all of them if few, else geometrically spaced (dense where the curve bends)."""
    if n <= keep:
        return np.arange(n)
    return np.unique(np.round(np.geomspace(1, n, keep)).astype(int) - 1)


def cumulative(results: list[LayerPCA]) -> alt.Chart:
    """One cumulative explained-variance curve per layer, with the threshold as a rule."""
    keep = max(20, BUDGET // max(1, len(results)))
    frames, sampled = [], False
    for r in results:
        idx = _curve_points(r.n_components, keep)
        sampled |= len(idx) < r.n_components
        frames.append(pd.DataFrame({"layer": r.layer, "component": idx + 1, "cumulative": r.cumulative[idx],
                                    "ratio": r.explained_ratio[idx]}))
    df = pd.concat(frames, ignore_index=True)
    threshold = results[0].threshold
    note = f"curve sampled at ≤{keep} points per layer (log-spaced)" if sampled else "every component drawn"
    zoom = alt.selection_interval(bind="scales")
    lines = alt.Chart(df).mark_line(point=False).encode(
        x=alt.X("component:Q", title="number of components"),
        y=alt.Y("cumulative:Q", title="cumulative explained variance", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("layer:N"),
        tooltip=["layer", "component", alt.Tooltip("cumulative:Q", format=".1%"),
                 alt.Tooltip("ratio:Q", title="this component", format=".2%")],
    ).add_params(zoom)
    rule = alt.Chart(pd.DataFrame({"y": [threshold]})).mark_rule(strokeDash=[4, 4], color="gray").encode(y="y:Q")
    return (lines + rule).properties(
        height=360, title=alt.TitleParams("Cumulative explained variance", subtitle=[
            f"dashed: {threshold:.0%}; {note}; scroll to zoom"]))


def _share(r: LayerPCA, k: int) -> str:
    return f"{r.explained_ratio[k]:.1%}" if r.n_components > k else "n/a"


def scatter(results: list[LayerPCA], samples: str = "rows") -> alt.Chart:
    """Every sample (or an even subsample) on PC1 and PC2, one panel per layer, each panel's header giving
    the share of variance its two components explain (the axis titles too, when there is one panel)."""
    keep = max(50, BUDGET // max(1, len(results)))
    frames, shown, total = [], 0, 0
    for r in results:
        n = r.scores.shape[0]
        idx = np.unique(np.linspace(0, n - 1, min(n, keep)).round().astype(int))
        shown, total = shown + len(idx), total + n
        frames.append(pd.DataFrame({"layer": r.layer, "index": idx, "PC1": r.scores[idx, 0],
                                    "PC2": r.scores[idx, 1] if r.scores.shape[1] > 1 else 0.0,
                                    "panel": f"layer {r.layer}: PC1 {_share(r, 0)}, PC2 {_share(r, 1)}",
                                    "share": f"{_share(r, 0)} / {_share(r, 1)}"}))
    df = pd.concat(frames, ignore_index=True)
    note = f"all {total:,} {samples}" if shown == total else f"{shown:,} of {total:,} {samples}, evenly spaced"
    one = results[0] if len(results) == 1 else None
    x_title = f"PC1 ({_share(one, 0)} of variance)" if one else "PC1 (share of variance above each panel)"
    y_title = f"PC2 ({_share(one, 1)} of variance)" if one else "PC2"
    zoom = alt.selection_interval(bind="scales")
    return alt.Chart(df).mark_circle(size=14, opacity=0.6).encode(
        x=alt.X("PC1:Q", title=x_title), y=alt.Y("PC2:Q", title=y_title), color=alt.Color("layer:N", legend=None),
        tooltip=["layer", alt.Tooltip("index:Q", title=samples[:-1] if samples.endswith("s") else samples),
                 alt.Tooltip("PC1:Q", format=".3f"), alt.Tooltip("PC2:Q", format=".3f"),
                 alt.Tooltip("share:N", title="variance PC1 / PC2")],
    ).add_params(zoom).properties(width=240, height=220).facet(
        facet=alt.Facet("panel:N", title=None, sort=[f for f in dict.fromkeys(df["panel"])],
                        header=alt.Header(labelLimit=0)), columns=3,
    ).properties(title=alt.TitleParams("First two principal components", subtitle=[note], anchor="start"))


DRAWN, NOT_DRAWN = "in the charts below", "not chosen"


def counts(results: list[LayerPCA], selected: list[int] | None = None) -> alt.Chart:
    """Components needed for the threshold, per layer; the selected layers highlighted."""
    selected = set(selected or [])
    df = pd.DataFrame([{"layer": r.layer, "components": r.n_for_threshold, "of": r.n_components,
                        "share of all": r.n_for_threshold / r.n_components,
                        "drawn": DRAWN if r.layer in selected else NOT_DRAWN} for r in results],
                      columns=["layer", "components", "of", "share of all", "drawn"])
    threshold = results[0].threshold if results else THRESHOLD
    return alt.Chart(df).mark_bar().encode(
        x=alt.X("layer:O"), y=alt.Y("components:Q", title=f"components for {threshold:.0%} of variance"),
        color=alt.Color("drawn:N", title=None,
                        scale=alt.Scale(domain=[DRAWN, NOT_DRAWN], range=["#d6604d", "#4393c3"])),
        tooltip=["layer", "components", "of", alt.Tooltip("share of all:Q", format=".1%")],
    ).properties(height=280, autosize=FIT_WIDTH, title=alt.TitleParams(f"Components needed for {threshold:.0%} of the variance",
                                                   subtitle=["every layer"], anchor="start"))
