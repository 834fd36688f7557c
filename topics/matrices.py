"""Matrix heatmaps: any weight matrix, whole or a row/column window, reduced to a grid a browser can draw,
with the norms that say where its structure lies (taken at full resolution).

    head = header(model, "blocks.0.attn.W_QKV")                       # shape and axis labels
    result = compute(model, "blocks.0.attn.W_QKV", rows=(0, 64))      # reduced grid + stats of the window
    print(reading(result))

Names are those of adapters.views.matrix_names: schema names, the derived W_QKV, 'raw:' tensors.
NaN and Inf are counted (the whole matrix in the header, the window in the stats), drawn apart by the
charts, and left out of the norms.
"""
from __future__ import annotations

from dataclasses import dataclass

from adapters import schema
from adapters.views import QKV, RAW, matrix
from analyses.finite import NonFinite, degenerate, nonfinite
from analyses.matrices import METHODS, Blocks, MatrixStats, downsample, grid_for_cells, matrix_stats

CELLS = 4000  # an interactive heatmap draws one rectangle per cell
PIXELS = 1024  # a side of the image view


@dataclass
class Header:
    shape: tuple[int, int]  # (rows, cols) of the whole matrix
    rows: str  # what the row axis is ('d_model (input)')
    cols: str
    title: str
    nonfinite: NonFinite | None = None  # NaN/Inf anywhere in the whole matrix
    degenerate: str | None = None  # 'all zero' or 'constant (...)' for the whole matrix
    heads: tuple[Segment, ...] = ()  # the heads along the head axis, in order (empty: no per-head axis)
    head_axis: str | None = None  # "cols" (W_Q, W_K, W_V, W_QKV) or "rows" (W_O)


@dataclass(frozen=True)
class Segment:
    """One head's span of the head axis: indices start..stop-1, named like 'K head 3'."""
    start: int
    stop: int
    label: str


_PER_HEAD = {"attn.W_Q": ("Q",), "attn.W_K": ("K",), "attn.W_V": ("V",), "attn.W_O": ("O",),
             QKV: ("Q", "K", "V")}


def head_segments(model, name: str) -> tuple[tuple[Segment, ...], str | None]:
    """(each head's span along the head axis, which axis that is) for a per-head attention matrix; ((), None)
    for any other. A fused W_QKV's columns are Q's heads, then K's, then V's (adapters.views.qkv)."""
    if name.startswith(RAW):
        return (), None
    key = schema.parse(name)
    parts = _PER_HEAD.get(key.slot)
    if parts is None:
        return (), None
    out, offset = [], 0
    for part in parts:
        slot = key.slot if key.slot != QKV else f"attn.W_{part}"
        w = model.weight(schema.name(slot, key.layer, key.stack))
        if w.ndim != 3:  # no per-head layout (heads unknown)
            return (), None
        n_heads, step = w.shape[0], w.shape[1] if slot == "attn.W_O" else w.shape[2]  # W_O: (n, d_head, d_model)
        out += [Segment(offset + h * step, offset + (h + 1) * step, f"{part} head {h}") for h in range(n_heads)]
        offset += n_heads * step
    return tuple(out), "rows" if key.slot == "attn.W_O" else "cols"


def header(model, name: str) -> Header:
    """What a matrix is before any window is chosen: its shape, axis labels, broken values and heads."""
    return _header(matrix(model, name), *_segments(model, name))


def _segments(model, name: str) -> tuple[tuple[Segment, ...], str | None]:
    try:
        return head_segments(model, name)
    except (KeyError, ValueError):  # a matrix stored without per-head shape: no head axis to draw
        return (), None


def _header(m, heads: tuple[Segment, ...] = (), head_axis: str | None = None) -> Header:
    bad = nonfinite(m.values)
    if heads and heads[-1].stop != (m.values.shape[1] if head_axis == "cols" else m.values.shape[0]):
        heads, head_axis = (), None  # the heads do not tile the axis (a layout we do not know): draw none
    return Header(tuple(m.values.shape), m.rows, m.cols, m.title, bad, None if bad else degenerate(m.values),
                  heads, head_axis)


def warning(name: str, head: Header) -> str:
    """The whole matrix's NaN/Inf or lack of spread, named, for a page's warning; '' for a healthy one."""
    if head.nonfinite:
        return (f"⚠️ `{name}` holds {head.nonfinite.words()}: NaN cells are drawn grey, ±Inf at the ends of "
                "the colour scale, and the norms below are taken over the finite values.")
    if head.degenerate:
        return f"⚠️ `{name}` is {head.degenerate}: it has no structure to show."
    return ""


@dataclass
class MatrixView:
    header: Header
    blocks: Blocks  # the window, block-reduced to at most CELLS cells (or PIXELS a side as an image)
    stats: MatrixStats  # norms of the window at full resolution


def compute(model, name: str, rows: tuple[int, int] | None = None, cols: tuple[int, int] | None = None,
            method: str = "mean", as_image: bool = False) -> MatrixView:
    """The window [rows[0]:rows[1], cols[0]:cols[1]] (default: all) reduced by `method` (a METHODS key).

    Only the reduced grid and the norms are returned: the matrix itself never enters a cache."""
    if method not in METHODS:  # before the matrix is read
        raise ValueError(f"method must be one of {list(METHODS)}, not {method!r}")
    m = matrix(model, name)
    n_rows, n_cols = m.values.shape
    rows, cols = rows or (0, n_rows), cols or (0, n_cols)
    window = m.values[rows[0]:rows[1], cols[0]:cols[1]]
    w_rows, w_cols = window.shape
    grid = (min(w_rows, PIXELS), min(w_cols, PIXELS)) if as_image else grid_for_cells(w_rows, w_cols, CELLS)
    start = (rows[0], cols[0])
    return MatrixView(_header(m, *_segments(model, name)), downsample(window, grid, method, start),
                      matrix_stats(window, start, rows_label=m.rows, cols_label=m.cols))


def reading(result: MatrixView) -> str:
    """Which rows and columns carry the most weight, and whether the rows differ more than noise would."""
    stats = result.stats
    r, c = stats.shape
    if stats.nonfinite and stats.n_finite == 0:
        return (f"⚠️ Every value of this {r:,} × {c:,} window is NaN or Inf ({stats.nonfinite.words()}): "
                "its norms and statistics are undefined.")
    warn = (f"⚠️ This window holds {stats.nonfinite.words()}; the numbers below are over its "
            f"{stats.n_finite:,} finite values. ") if stats.nonfinite else ""
    if stats.degenerate:
        return warn + (f"This {r:,} × {c:,} window is {stats.degenerate}: no row or column carries more "
                       "weight than another.")
    rows = ", ".join(f"{i} ({n:.3g})" for i, n in stats.top_rows)
    cols = ", ".join(f"{i} ({n:.3g})" for i, n in stats.top_cols)
    ratio = stats.row_norm_cv / stats.iid_row_norm_cv
    text = warn + (f"In this {r:,} × {c:,} window (values within ±{stats.abs_max:.3g}, std {stats.std:.3g}), "
            f"the {stats.rows_label} rows with the largest L2 norm are **{rows}**; "
            f"the {stats.cols_label} columns: **{cols}**. ")
    if r < 2:
        return text + "A single row has no row-norm spread to judge."
    spread = f"Row norms vary by **{stats.row_norm_cv:.1%}** (std / mean), "
    if ratio > 3:
        return text + spread + (f"**{ratio:.0f}×** what i.i.d. noise of this shape would give "
                                f"({stats.iid_row_norm_cv:.1%}): rows differ systematically, so structure "
                                "should be visible along the row axis.")
    return text + spread + (f"close to i.i.d. noise of this shape ({stats.iid_row_norm_cv:.1%}, ratio "
                            f"{ratio:.1f}): little row structure to see.")
