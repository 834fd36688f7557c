"""Parameter budget charts."""
from __future__ import annotations

import altair as alt
import pandas as pd

from adapters.schema import CATEGORIES


def by_category(by_category: dict[str, int]) -> alt.Chart:
    """Horizontal bars of unique parameters per category, the share written in each bar's axis label.

    The share is part of the label rather than text beside the bar: axis labels take the theme's colour
    (readable in light and dark) and are never cut off by the plot's edge. Every category gets a labelled
    row (a fixed step, overlap removal off)."""
    total = sum(by_category.values()) or 1
    df = pd.DataFrame([{"category": CATEGORIES.get(k, k), "params": v, "share": v / total,
                        "label": f"{CATEGORIES.get(k, k)} ({v / total:.1%})"}
                       for k, v in sorted(by_category.items(), key=lambda kv: -kv[1])])
    return alt.Chart(df).mark_bar().encode(
        y=alt.Y("label:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False, labelLimit=0)),
        x=alt.X("params:Q", title="parameters"),
        tooltip=["category", alt.Tooltip("params:Q", format=","), alt.Tooltip("share:Q", format=".1%")],
    ).properties(title="Parameters by category (tied tensors once)", height=alt.Step(28))


def by_layer(rows: list[dict]) -> alt.Chart:
    """Stacked bars of parameters per layer and category."""
    df = pd.DataFrame(rows)
    df["category"] = df["category"].map(lambda k: CATEGORIES.get(k, k))
    return alt.Chart(df).mark_bar().encode(
        x=alt.X("layer:O"), y=alt.Y("params:Q", title="parameters"), color=alt.Color("category:N"),
        tooltip=["layer", "category", alt.Tooltip("params:Q", format=",")],
    ).properties(title="Parameters per layer")


def by_storage(rows: list[dict]) -> alt.Chart:
    """Horizontal bars of bytes on disk per stored type (topics.architecture.storage_rows), the bits a weight
    in each bar's axis label (readable in either theme, never clipped)."""
    df = pd.DataFrame(rows)
    df["label"] = [f"{r['stored']} ({r['bits_per_weight']:.3g} bits a weight)" for r in rows]
    return alt.Chart(df).mark_bar().encode(
        y=alt.Y("label:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False, labelLimit=0)),
        x=alt.X("bytes:Q", title="bytes on disk (scales included)"),
        tooltip=["stored", alt.Tooltip("bytes:Q", format=","), alt.Tooltip("params:Q", format=","),
                 alt.Tooltip("bits_per_weight:Q", format=".4g", title="bits a weight"), "tensors"],
    ).properties(title="Size on disk by stored type (bits a weight)", height=alt.Step(28))
