"""Parameter budget charts."""
from __future__ import annotations

import altair as alt
import pandas as pd

from adapters.schema import CATEGORIES


def by_category(by_category: dict[str, int]) -> alt.Chart:
    """Horizontal bars of unique parameters per category, with share of the total in the tooltip."""
    total = sum(by_category.values()) or 1
    df = pd.DataFrame([{"category": CATEGORIES.get(k, k), "params": v, "share": v / total}
                       for k, v in sorted(by_category.items(), key=lambda kv: -kv[1])])
    base = alt.Chart(df, height=28 * len(df) + 20).encode(
        y=alt.Y("category:N", sort="-x", title=None),
        x=alt.X("params:Q", title="parameters"),
        tooltip=["category", alt.Tooltip("params:Q", format=","), alt.Tooltip("share:Q", format=".1%")])
    return (base.mark_bar() + base.mark_text(align="left", dx=3).encode(text=alt.Text("share:Q", format=".1%"))
            ).properties(title="Parameters by category (tied tensors once)")


def by_layer(rows: list[dict]) -> alt.Chart:
    """Stacked bars of parameters per layer and category."""
    df = pd.DataFrame(rows)
    df["category"] = df["category"].map(lambda k: CATEGORIES.get(k, k))
    return alt.Chart(df).mark_bar().encode(
        x=alt.X("layer:O"), y=alt.Y("params:Q", title="parameters"), color=alt.Color("category:N"),
        tooltip=["layer", "category", alt.Tooltip("params:Q", format=",")],
    ).properties(title="Parameters per layer")


def by_storage(rows: list[dict]) -> alt.Chart:
    """Horizontal bars of bytes on disk per stored type (topics.architecture.storage_rows), bits a weight beside."""
    df = pd.DataFrame(rows)
    base = alt.Chart(df, height=28 * len(df) + 20).encode(
        y=alt.Y("stored:N", sort="-x", title=None),
        x=alt.X("bytes:Q", title="bytes on disk (scales included)"),
        tooltip=["stored", alt.Tooltip("bytes:Q", format=","), alt.Tooltip("params:Q", format=","),
                 alt.Tooltip("bits_per_weight:Q", format=".4g", title="bits a weight"), "tensors"])
    labels = base.mark_text(align="left", dx=3).encode(text=alt.Text("bits_per_weight:Q", format=".3g"))
    return (base.mark_bar() + labels).properties(title="Size on disk by stored type (bits a weight)")
