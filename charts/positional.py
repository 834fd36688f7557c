"""Charts of positional embeddings (learned W_pos, or rotary frequencies)."""
from __future__ import annotations

import textwrap

import altair as alt
import numpy as np
import pandas as pd

from analyses.positional import Grid, PositionalSummary, RotaryFrequencies, strided_indices
from charts import MAX_ROWS

_DIVERGING = alt.Scale(scheme="redblue", reverse=True, domainMid=0)  # blue < 0 < red, white at 0


def _sampling_note(g: Grid, row_word: str, col_word: str) -> str:
    if not g.sampled:
        return f"all {g.shape[0]} × {g.shape[1]} cells"
    if g.blocks is not None:
        return (f"downsampled for display: each cell is the value of largest magnitude in its block of "
                f"{g.blocks[0]} {row_word}{'s' * (g.blocks[0] != 1)} × {g.blocks[1]} {col_word}"
                f"{'s' * (g.blocks[1] != 1)} of {g.shape[0]} × {g.shape[1]} ({len(g.rows)} × {len(g.cols)} "
                "cells shown), so no extreme is hidden")
    if row_word == col_word and np.array_equal(g.rows, g.cols):
        return (f"downsampled for display: {_every(g.rows, row_word)} on both axes of {g.shape[0]} × {g.shape[1]} "
                f"({len(g.rows)} × {len(g.cols)} cells shown)")
    return (f"downsampled for display: {_every(g.rows, row_word)} and {_every(g.cols, col_word)} "
            f"of {g.shape[0]} × {g.shape[1]} ({len(g.rows)} × {len(g.cols)} cells shown)")


def _every(idx: np.ndarray, word: str) -> str:
    """'every position', 'every 2nd position', 'every 15th position'."""
    step = int(idx[1] - idx[0]) if len(idx) > 1 else 1
    if step == 1:
        return f"every {word}"
    suffix = "th" if step % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(step % 10, "th")
    return f"every {step}{suffix} {word}"


def _grid_frame(g: Grid, row: str, col: str) -> pd.DataFrame:
    r, c = np.meshgrid(g.rows, g.cols, indexing="ij")
    return pd.DataFrame({row: r.ravel(), col: c.ravel(), "value": g.values.ravel().astype(float)})


def heatmap(g: Grid, offset: int = 0) -> alt.Chart:
    """W_pos as a position × dimension heatmap, diverging colours centred at 0; `offset` = first position."""
    df = _grid_frame(g, "position", "dimension")
    df["position"] += offset
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("dimension:O", axis=alt.Axis(labelOverlap=True), title="dimension"),
        y=alt.Y("position:O", axis=alt.Axis(labelOverlap=True), title="position"),
        color=alt.Color("value:Q", scale=_DIVERGING, title="weight"),
        tooltip=["position", "dimension", alt.Tooltip("value:Q", format=".4f")],
    ).properties(title=alt.TitleParams("W_pos", subtitle=_sampling_note(g, "position", "dimension")), height=420)


def dimension_curves(columns: np.ndarray, dims: list[int], start: int = 0, stop: int | None = None,
                     title: str = "Chosen dimensions over position") -> alt.Chart:
    """One line per dimension over positions [start, stop); positions strided to stay under MAX_ROWS.

    `columns` is (n_ctx, len(dims)): column i holds dimension dims[i] of W_pos at every position."""
    stop = columns.shape[0] if stop is None else stop
    keep = start + strided_indices(stop - start, max(1, MAX_ROWS // max(len(dims), 1)))
    df = pd.DataFrame([{"position": int(p), "dimension": str(d), "value": float(columns[p, i])}
                       for i, d in enumerate(dims) for p in keep])
    note = ("every position" if len(keep) == stop - start
            else f"{_every(keep, 'position')} shown ({len(keep)} of {stop - start})")
    return alt.Chart(df).mark_line().encode(
        x=alt.X("position:Q", scale=alt.Scale(domain=[start, stop - 1])), y=alt.Y("value:Q", title="weight"),
        color=alt.Color("dimension:N"),
        tooltip=["dimension", "position", alt.Tooltip("value:Q", format=".4f")],
    ).properties(title=alt.TitleParams(title, subtitle=f"{note}; drag to pan, scroll to zoom")).interactive()


def adjacent_correlation(r: np.ndarray) -> alt.Chart:
    """Pearson r of position p with p + 1, over p."""
    keep = strided_indices(len(r), MAX_ROWS)
    df = pd.DataFrame({"position": keep, "next": keep + 1, "r": r[keep].astype(float)})
    note = "every pair" if len(keep) == len(r) else f"{_every(keep, 'pair')} of {len(r)}"
    return alt.Chart(df).mark_line(point=len(keep) <= 64).encode(
        x=alt.X("position:Q", scale=alt.Scale(domain=[0, len(r)], nice=False)),
        y=alt.Y("r:Q", title="Pearson r with the next position"),
        tooltip=["position", "next", alt.Tooltip("r:Q", format=".4f")],
    ).properties(title=alt.TitleParams("Correlation of each position with the next", subtitle=note)).interactive()


def cosine_heatmap(g: Grid) -> alt.Chart:
    """Cosine similarity between positions; colours centred at 0 on [-1, 1]."""
    df = _grid_frame(g, "position", "other position")
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("other position:O", axis=alt.Axis(labelOverlap=True)),
        y=alt.Y("position:O", axis=alt.Axis(labelOverlap=True)),
        color=alt.Color("value:Q", scale=alt.Scale(scheme="redblue", reverse=True, domain=[-1, 1]),
                        title="cosine"),
        tooltip=["position", "other position", alt.Tooltip("value:Q", title="cosine", format=".3f")],
    ).properties(title=alt.TitleParams("Cosine similarity between positions",  # half the page: the note in lines
                                       subtitle=textwrap.wrap(_sampling_note(g, "position", "position"), 60)),
                 height=420)


def periods(s: PositionalSummary) -> alt.Chart:
    """Each dimension's dominant period (log scale) against the share of its power at that period."""
    keep = strided_indices(s.d_model, MAX_ROWS)
    df = pd.DataFrame({"dimension": keep, "period": s.periods[keep], "power share": s.peak_power[keep],
                       "variance": s.variances[keep]})
    return alt.Chart(df).mark_circle().encode(
        x=alt.X("dimension:Q"), y=alt.Y("period:Q", scale=alt.Scale(type="log"), title="dominant period (positions)"),
        color=alt.Color("power share:Q", scale=alt.Scale(scheme="viridis", domain=[0, 1])),
        tooltip=["dimension", alt.Tooltip("period:Q", format=".1f"), alt.Tooltip("power share:Q", format=".1%"),
                 alt.Tooltip("variance:Q", format=".3g")],
    ).properties(title=alt.TitleParams("Dominant period of each dimension (FFT, mean removed)",
                                       subtitle="colour: share of the dimension's power at that period")).interactive()


def rotary(f: RotaryFrequencies) -> alt.Chart:
    """Wavelength of each rotated pair (log scale), with the context length as a rule."""
    df = pd.DataFrame({"pair": np.arange(len(f.theta)), "wavelength": f.wavelength, "theta": f.theta})
    chart = alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("pair:Q", title="pair i"),
        y=alt.Y("wavelength:Q", scale=alt.Scale(type="log"), title="wavelength 2π/θᵢ (positions)"),
        tooltip=["pair", alt.Tooltip("theta:Q", title="θᵢ (rad/position)", format=".3g"),
                 alt.Tooltip("wavelength:Q", format=",.1f")],
    )
    if f.n_ctx:
        chart += alt.Chart(pd.DataFrame({"n_ctx": [f.n_ctx]})).mark_rule(strokeDash=[4, 4], color="gray").encode(
            y="n_ctx:Q", tooltip=[alt.Tooltip("n_ctx:Q", title="context length")])
    return chart.properties(title=alt.TitleParams("Rotary frequencies",
                                                  subtitle=f"base {f.base:g}, rotary_dim {f.rotary_dim}"))
