"""Charts of a vision transformer: position similarity maps on the patch grid, patch filters as images, and the
class token against the positions. Every chart is one layer of rectangles placed by quantitative x/x2, y/y2, so
tiles sit on a grid with a one-cell gap between them and no faceting is needed."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from analyses.vision import GridSimilarity
from charts import MAX_ROWS

_COSINE = alt.Scale(scheme="redblue", reverse=True, domain=[-1, 1])
_HIDDEN = alt.Axis(labels=False, ticks=False, grid=False, domain=False, title=None)


def _tiles(df: pd.DataFrame, color: alt.Color, tooltip: list, title: alt.TitleParams, cell: int) -> alt.Chart:
    """df has x, y (top-left of each cell, y downwards): rectangles of one unit each."""
    df = df.assign(x2=df["x"] + 1, y2=df["y"] + 1)
    width = int(df["x2"].max()) if len(df) else 1
    height = int(df["y2"].max()) if len(df) else 1
    cell = max(cell, 360 // max(width, height))  # a small grid is drawn at a readable size
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("x:Q", axis=_HIDDEN, scale=alt.Scale(domain=[0, width], nice=False)), x2="x2:Q",
        y=alt.Y("y:Q", axis=_HIDDEN, scale=alt.Scale(domain=[0, height], nice=False, reverse=True)), y2="y2:Q",
        color=color, tooltip=tooltip,
    ).properties(title=title, width=min(720, width * cell), height=min(720, height * cell))


def similarity_maps(s: GridSimilarity) -> alt.Chart:
    """For each anchor position, its cosine to every patch position, drawn as a small map at the anchor's place
    on the grid (the figure ViT papers show). Map pixels are strided when the maps would pass MAX_ROWS."""
    rows, cols = s.grid
    stride = 1
    while len(s.anchors) * -(-rows // stride) * -(-cols // stride) > MAX_ROWS:
        stride += 1
    r_keep, c_keep = np.arange(0, rows, stride), np.arange(0, cols, stride)
    per_side = len(np.unique(s.anchors[:, 1]))
    side_r, side_c = len(r_keep) + 1, len(c_keep) + 1  # each map plus a gap
    frames = []
    for a, (ar, ac) in enumerate(s.anchors):
        ti, tj = np.divmod(a, per_side)
        rr, cc = np.meshgrid(np.arange(len(r_keep)), np.arange(len(c_keep)), indexing="ij")
        frames.append(pd.DataFrame({
            "x": (tj * side_c + cc).ravel(), "y": (ti * side_r + rr).ravel(),
            "anchor": f"row {ar}, col {ac}", "row": r_keep[rr].ravel(), "col": c_keep[cc].ravel(),
            "cosine": s.maps[a][np.ix_(r_keep, c_keep)].ravel().astype(float)}))
    df = pd.concat(frames, ignore_index=True)
    note = (f"{len(s.anchors)} of {rows * cols} positions, each map {rows} × {cols}" if stride == 1 else
            f"{len(s.anchors)} of {rows * cols} positions, each map every {stride}th patch of {rows} × {cols}")
    return _tiles(df, alt.Color("cosine:Q", scale=_COSINE, title="cosine"),
                  ["anchor", "row", "col", alt.Tooltip("cosine:Q", format=".3f")],
                  alt.TitleParams("Position similarity on the patch grid", subtitle=note), 6)


def grid_map(values: np.ndarray, title: str, subtitle: str) -> alt.Chart:
    """One (rows, cols) map of cosines on the patch grid (the class token or a prefix row against each position)."""
    rows, cols = values.shape
    rr, cc = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    df = pd.DataFrame({"x": cc.ravel(), "y": rr.ravel(), "row": rr.ravel(), "col": cc.ravel(),
                       "cosine": values.ravel().astype(float)})
    return _tiles(df, alt.Color("cosine:Q", scale=_COSINE, title="cosine"),
                  ["row", "col", alt.Tooltip("cosine:Q", format=".3f")], alt.TitleParams(title, subtitle=subtitle),
                  max(4, 240 // max(rows, cols)))


def filters(tiles: np.ndarray, d_model: int) -> alt.Chart:
    """Patch filters (n, n_channels, p, p) in [0, 1] as images: colour when there are 3 channels, else one grey
    tile per channel, side by side; filters laid out 8 to a row."""
    n, channels, p, _ = tiles.shape
    rgb = channels == 3
    per_row = 8 if rgb else max(1, 8 // channels) * channels
    frames = []
    ii, jj = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    for f in range(n):
        for ch in ([None] if rgb else range(channels)):
            slot = f if rgb else f * channels + ch
            ti, tj = divmod(slot, per_row)
            if rgb:
                px = np.round(tiles[f].transpose(1, 2, 0) * 255).astype(int)  # (p, p, 3)
            else:
                px = np.repeat(np.round(tiles[f, ch] * 255).astype(int)[..., None], 3, axis=-1)
            colour = [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in px.reshape(-1, 3)]
            frames.append(pd.DataFrame({"x": (tj * (p + 1) + jj).ravel(), "y": (ti * (p + 1) + ii).ravel(),
                                        "filter": f, "channel": "RGB" if rgb else str(ch), "colour": colour}))
    df = pd.concat(frames, ignore_index=True)
    kind = "RGB" if rgb else f"{channels} channels, each grey"
    return _tiles(df, alt.Color("colour:N", scale=None), ["filter", "channel"],
                  alt.TitleParams("Patch embedding filters",
                                  subtitle=f"the first {n} of {d_model} ({p} × {p}, {kind}; each scaled to its own "
                                           "range)"), max(3, 64 // p))
