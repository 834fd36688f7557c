"""Heatmaps of (block-reduced) matrices: an interactive Altair chart, or a PNG for the full view.

Both use the same colour anchors, so a matrix looks the same in either; the scale is diverging,
symmetric about 0 (white), from -max|value| to +max|value| of the finite values drawn. A NaN cell is
drawn grey and a ±Inf cell in the scale's end colour (both named in the tooltip and the subtitle).
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
from PIL import Image

from analyses.matrices import Blocks
from charts import MAX_ROWS

# ColorBrewer 11-class diverging palettes, negative -> positive (white at 0).
COLORMAPS: dict[str, list[str]] = {
    "blue–white–red": ["#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7",
                       "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f"],
    "purple–white–orange": ["#2d004b", "#542788", "#8073ac", "#b2abd2", "#d8daeb", "#f7f7f7",
                            "#fee0b6", "#fdb863", "#e08214", "#b35806", "#7f3b08"],
    "teal–white–brown": ["#003c30", "#01665e", "#35978f", "#80cdc1", "#c7eae5", "#f5f5f5",
                         "#f6e8c3", "#dfc27d", "#bf812d", "#8c510a", "#543005"],
    "green–white–pink": ["#276419", "#4d9221", "#7fbc41", "#b8e186", "#e6f5d0", "#f7f7f7",
                         "#fde0ef", "#f1b6da", "#de77ae", "#c51b7d", "#8e0152"],
}


NAN_COLOR = "#9e9e9e"  # grey: outside every diverging palette, which runs through white


def _limit(blocks: Blocks) -> float:
    v = blocks.values[np.isfinite(blocks.values)]
    m = float(np.abs(v).max()) if v.size else 0.0
    return m if m > 0 else 1.0  # an all-zero (or all non-finite) matrix still needs a non-empty domain


def nonfinite_note(blocks: Blocks) -> str:
    """'3 NaN cells in grey, 1 Inf cell at the scale's end' for the subtitle; '' when every cell is finite."""
    n_nan, n_inf = int(np.isnan(blocks.values).sum()), int(np.isinf(blocks.values).sum())
    parts = [f"{n_nan:,} NaN {'cell' if n_nan == 1 else 'cells'} in grey"] if n_nan else []
    if n_inf:
        parts.append(f"{n_inf:,} ±Inf {'cell' if n_inf == 1 else 'cells'} at the scale's ends")
    return ", ".join(parts)


def _head_of(segments, starts: np.ndarray, stops: np.ndarray) -> list[str]:
    """For each span [start, stop): the head it lies in, or 'Q head 2 – Q head 3' when it spans several."""
    if not segments:
        return [""] * len(starts)
    bounds = np.array([s.start for s in segments])
    first = np.searchsorted(bounds, starts, side="right") - 1
    last = np.searchsorted(bounds, stops - 1, side="right") - 1
    return [segments[a].label if a == b else f"{segments[a].label} – {segments[b].label}"
            for a, b in zip(first, last)]


_MAX_HEAD_RULES = 150  # past this many head boundaries in view, only the Q/K/V boundaries are drawn


def _head_rules(segments, head_axis: str, lo: int, hi: int) -> alt.Chart | None:
    """Lines at the heads' boundaries inside [lo, hi]: thick between Q, K and V, thin between heads."""
    marks = [(s.start, s.label, s.label.split()[0] != segments[i - 1].label.split()[0])
             for i, s in enumerate(segments) if i and lo < s.start < hi]
    if len(marks) > _MAX_HEAD_RULES:
        marks = [m for m in marks if m[2]]
    if not marks:
        return None
    df = pd.DataFrame({"at": [m[0] for m in marks], "starts": [m[1] for m in marks],
                       "width": [2.0 if m[2] else 0.6 for m in marks]})
    at = alt.X("at:Q") if head_axis == "cols" else alt.Y("at:Q")
    return alt.Chart(df).mark_rule(color="black", opacity=0.6).encode(
        at, strokeWidth=alt.StrokeWidth("width:Q", legend=None, scale=None),
        tooltip=[alt.Tooltip("starts:N", title="boundary: starts")])


def heatmap(blocks: Blocks, title: str, rows_label: str, cols_label: str,
            colormap: str = "blue–white–red", heads=(), head_axis: str | None = None) -> alt.Chart:
    """Rectangles at their real row/column indices (row 0 on top); drag to pan, scroll to zoom. With `heads`
    (topics.matrices.Segment spans along `head_axis`), each cell's tooltip names its head (Q, K or V, and
    which head) and lines mark the heads' boundaries."""
    n_r, n_c = blocks.values.shape
    assert n_r * n_c <= MAX_ROWS, "downsample before charting"
    r0, r1 = blocks.row_edges[:-1], blocks.row_edges[1:]
    c0, c1 = blocks.col_edges[:-1], blocks.col_edges[1:]
    rr, cc = np.meshgrid(np.arange(n_r), np.arange(n_c), indexing="ij")
    rr, cc = rr.ravel(), cc.ravel()

    def span(a, b):  # block i covers a[i]..b[i]-1
        return np.where(b - a > 1, [f"{x}–{y - 1}" for x, y in zip(a, b)], a.astype(str))

    df = pd.DataFrame({"row_start": r0[rr], "row_end": r1[rr], "col_start": c0[cc], "col_end": c1[cc],
                       "rows": span(r0, r1)[rr], "cols": span(c0, c1)[cc],
                       "value": blocks.values.ravel().astype(float)})
    if heads:
        on_cols = head_axis == "cols"
        names = _head_of(heads, c0 if on_cols else r0, c1 if on_cols else r1)
        df["head"] = np.asarray(names, dtype=object)[cc if on_cols else rr]
    m = _limit(blocks)
    # JSON has no NaN or Inf: the colour takes Inf clamped to the scale's end, the tooltip the words
    df["shown"] = [f"{v:.4g}" for v in df["value"]]
    df["missing"] = np.isnan(df["value"])
    df["value"] = np.clip(df["value"].fillna(0.0), -m, m)
    colors = COLORMAPS[colormap]
    scale = alt.Scale(domain=list(np.linspace(-m, m, len(colors))), range=colors, clamp=True)
    zoom = alt.selection_interval(bind="scales")
    value_title = "value" if not blocks.reduced else ("block mean" if blocks.method == "mean" else "block max |value|")
    tooltip = [alt.Tooltip("rows:N", title=rows_label), alt.Tooltip("cols:N", title=cols_label),
               *([alt.Tooltip("head:N", title="head")] if heads else []), alt.Tooltip("shown:N", title=value_title)]
    color = alt.condition("datum.missing", alt.value(NAN_COLOR), alt.Color("value:Q", scale=scale, title=value_title))
    subtitle = "; ".join(filter(None, [blocks.describe(), nonfinite_note(blocks), "drag to pan, scroll to zoom"]))
    x_scale = alt.Scale(domain=[int(c0[0]), int(c1[-1])], nice=False)
    y_scale = alt.Scale(domain=[int(r0[0]), int(r1[-1])], reverse=True, nice=False)
    cells = alt.Chart(df).mark_rect().encode(
        x=alt.X("col_start:Q", title=cols_label, scale=x_scale), x2="col_end:Q",
        y=alt.Y("row_start:Q", title=rows_label, scale=y_scale), y2="row_end:Q", color=color, tooltip=tooltip,
    ).add_params(zoom)
    rules = _head_rules(heads, head_axis, *((c0[0], c1[-1]) if head_axis == "cols" else (r0[0], r1[-1]))) \
        if heads else None
    if rules is not None:
        thick = any(r["width"] == 2.0 for r in rules.data.to_dict("records"))
        subtitle += "; lines: head boundaries" + (" (thick between Q, K and V)" if thick else "")
        cells = alt.layer(cells, rules)
    return cells.properties(height=480, title=alt.TitleParams(title, subtitle=[subtitle]))


def image(blocks: Blocks, colormap: str = "blue–white–red", min_side: int = 512) -> Image.Image:
    """The grid as an RGB image, one pixel per block (nearest-neighbour enlarged when small)."""
    m = _limit(blocks)
    rgb = np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in COLORMAPS[colormap]], dtype=float)
    stops = np.linspace(0, 1, len(rgb))
    values = blocks.values.astype(float)
    t = np.clip((np.nan_to_num(values, nan=0.0, posinf=m, neginf=-m) + m) / (2 * m), 0, 1)
    pixels = np.stack([np.interp(t, stops, rgb[:, k]) for k in range(3)], axis=-1)
    pixels[np.isnan(values)] = [int(NAN_COLOR[i:i + 2], 16) for i in (1, 3, 5)]
    img = Image.fromarray(np.round(pixels).astype(np.uint8), "RGB")
    scale = max(1, min_side // max(img.size))
    return img.resize((img.width * scale, img.height * scale), Image.NEAREST) if scale > 1 else img


def caption(blocks: Blocks, title: str, rows_label: str, cols_label: str, colormap: str) -> str:
    """What the PNG shows, since an image carries no axes or legend."""
    m = _limit(blocks)
    low, high = colormap.split("–")[0], colormap.split("–")[-1]
    return (f"{title}: {blocks.describe()}. Rows: {rows_label} {blocks.row_edges[0]}–{blocks.row_edges[-1] - 1} "
            f"(top to bottom); columns: {cols_label} {blocks.col_edges[0]}–{blocks.col_edges[-1] - 1} "
            f"(left to right). Colour: {low} = −{m:.3g}, white = 0, {high} = +{m:.3g}"
            + (f"; {nonfinite_note(blocks)}." if nonfinite_note(blocks) else "."))


def figure(blocks: Blocks, title: str, rows_label: str, cols_label: str, colormap: str = "blue–white–red",
           dpi: int = 110) -> bytes:
    """The grid as a PNG with axes at the real row/column indices and a colour bar (matplotlib).

    The same colour anchors as the heatmap: the palette spread over ±the largest finite |value|, NaN grey,
    ±Inf at the ends. A bare Figure (no pyplot), so sessions drawing at once share no global state."""
    from io import BytesIO

    from matplotlib.colors import LinearSegmentedColormap
    from matplotlib.figure import Figure

    m = _limit(blocks)
    cmap = LinearSegmentedColormap.from_list(colormap, COLORMAPS[colormap]).with_extremes(bad=NAN_COLOR)
    values = np.clip(blocks.values.astype(float), -m, m)  # ±Inf to the ends; NaN stays NaN (grey)
    fig = Figure(figsize=(8, 6), dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    (r0, r1), (c0, c1) = (blocks.row_edges[0], blocks.row_edges[-1]), (blocks.col_edges[0], blocks.col_edges[-1])
    shown = ax.imshow(values, cmap=cmap, vmin=-m, vmax=m, aspect="auto", interpolation="nearest",
                      extent=(c0, c1, r1, r0))  # row 0 on top, as in the interactive view
    ax.set(xlabel=cols_label, ylabel=rows_label, title=title)
    bar = fig.colorbar(shown, ax=ax)
    bar.set_label("value" if not blocks.reduced else
                  ("block mean" if blocks.method == "mean" else "block value of largest |x|"))
    out = BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
