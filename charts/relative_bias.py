"""Charts of T5's relative position bias: the stored bucket x head table, and each head's bias over signed distance."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from analyses.positional import strided_indices
from analyses.relative_position import BiasByDistance
from charts import MAX_ROWS

_DIVERGING = alt.Scale(scheme="redblue", reverse=True, domainMid=0)  # blue < 0 < red, white at 0


def heatmap(b: BiasByDistance, label: str) -> alt.Chart:
    """W_rel as stored: one row per bucket, one column per head (buckets x heads is small: 32 x 128 at most)."""
    n_buckets, n_heads = b.w_rel.shape
    bucket, head = np.meshgrid(np.arange(n_buckets), np.arange(n_heads), indexing="ij")
    df = pd.DataFrame({"bucket": bucket.ravel(), "head": head.ravel(), "bias": b.w_rel.ravel().astype(float)})
    halves = "buckets 0 to n/2 - 1: keys at or before the query; the rest: after it" if b.bidirectional \
        else "every bucket: keys at or before the query"
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("head:O"), y=alt.Y("bucket:O", title="bucket"),
        color=alt.Color("bias:Q", scale=_DIVERGING),
        tooltip=["bucket", "head", alt.Tooltip("bias:Q", format=".4f")],
    ).properties(title=alt.TitleParams(f"{label}: relative position bias (W_rel)",
                                       subtitle=f"{n_buckets} buckets × {n_heads} heads; {halves}"))


def by_distance(b: BiasByDistance, label: str) -> alt.Chart:
    """Each head's bias over signed distance key - query, one line per head; distances strided to stay under
    MAX_ROWS rows."""
    n_heads = b.bias.shape[1]
    keep = strided_indices(len(b.distances), max(2, MAX_ROWS // n_heads))
    d = b.distances[keep]
    df = pd.DataFrame({"distance": np.repeat(d, n_heads), "head": np.tile(np.arange(n_heads), len(d)).astype(str),
                       "bias": b.bias[keep].ravel().astype(float)})
    shown = "every distance" if len(keep) == len(b.distances) else \
        f"{len(keep)} of {len(b.distances)} distances shown (downsampled for display)"
    return alt.Chart(df).mark_line().encode(
        x=alt.X("distance:Q", title="distance key − query (negative: earlier tokens)"),
        y=alt.Y("bias:Q", title="bias added to the score"), color=alt.Color("head:N"),
        tooltip=["head", "distance", alt.Tooltip("bias:Q", format=".4f")],
    ).properties(title=alt.TitleParams(f"{label}: bias by distance, per head",
                                       subtitle=f"{shown}; flat beyond ±{b.max_distance}, where distances share "
                                                "the last bucket")).interactive()
