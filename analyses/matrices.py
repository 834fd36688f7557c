"""Matrix heatmaps: a window of a weight matrix, block-reduced to a size a browser can draw,
and the row/column norms that say where its structure lies.

    view = downsample(w[r0:r1, c0:c1], grid_for_cells(r1 - r0, c1 - c0), "mean", (r0, c0))
    stats = matrix_stats(w[r0:r1, c0:c1], (r0, c0))
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analyses.finite import NonFinite, degenerate, finite, nonfinite

METHODS = {"mean": "block mean", "maxabs": "block value of largest magnitude"}


@dataclass
class Blocks:
    """A matrix window reduced to a grid of blocks; edges are absolute indices into the full matrix."""
    values: np.ndarray  # (n_row_blocks, n_col_blocks) float32
    row_edges: np.ndarray  # (n_row_blocks + 1,) block i covers rows row_edges[i] .. row_edges[i+1]-1
    col_edges: np.ndarray  # (n_col_blocks + 1,)
    method: str  # a key of METHODS
    window: tuple[int, int]  # (rows, cols) of the window before reduction

    @property
    def block(self) -> tuple[int, int]:
        """(rows, cols) of a full block; (1, 1) means every cell is shown as it is."""
        return int(np.diff(self.row_edges).max()), int(np.diff(self.col_edges).max())

    @property
    def reduced(self) -> bool:
        return self.block != (1, 1)

    def describe(self) -> str:
        """How the window became this grid, for the chart's subtitle."""
        r, c = self.window
        if not self.reduced:
            return f"all {r:,} × {c:,} cells shown"
        br, bc = self.block
        return (f"{r:,} × {c:,} reduced to {self.values.shape[0]:,} × {self.values.shape[1]:,} "
                f"by {METHODS[self.method]} over {br:,} × {bc:,} blocks")


def grid_for_cells(n_rows: int, n_cols: int, max_cells: int = 4000) -> tuple[int, int]:
    """The largest (rows, cols) grid of at most max_cells cells, balanced between the axes.

    Balanced rather than proportional: GPT-2's 50257 x 768 embedding with square blocks would
    keep only 8 columns; here each axis gets about sqrt(max_cells) unless it is shorter.
    """
    side = max(1, math.isqrt(max_cells))
    if n_rows <= side:
        return n_rows, min(n_cols, max(1, max_cells // n_rows))
    if n_cols <= side:
        return min(n_rows, max(1, max_cells // n_cols)), n_cols
    return side, side


def block_edges(n: int, target: int) -> np.ndarray:
    """(k + 1,) edges of k <= target equal blocks covering 0..n, the last possibly shorter.

    Equal blocks keep a heatmap's axes linear: block i starts at row i * size.
    Example: block_edges(10, 4) -> array([0, 3, 6, 9, 10])
    """
    size = math.ceil(n / max(1, min(target, n)))
    return np.append(np.arange(0, n, size), n)


def block_means(values: np.ndarray, row_edges: np.ndarray, col_edges: np.ndarray) -> np.ndarray:
    """The mean of each block of the last two axes, in float64: (..., R, C) -> (..., len(row_edges) - 1,
    len(col_edges) - 1), for edges from `block_edges` (starting at 0, ending at R and C).

    Example: block_means(np.arange(4.0).reshape(2, 2), [0, 2], [0, 1, 2]) -> array([[1., 2.]])
    """
    row_edges, col_edges = np.asarray(row_edges), np.asarray(col_edges)
    sums = np.add.reduceat(np.add.reduceat(values, row_edges[:-1], axis=-2, dtype=np.float64),
                           col_edges[:-1], axis=-1)
    return sums / np.outer(np.diff(row_edges), np.diff(col_edges))


def downsample(values: np.ndarray, grid: tuple[int, int], method: str = "mean",
               offset: tuple[int, int] = (0, 0)) -> Blocks:
    """Reduce a 2-D window to at most `grid` blocks by block mean or by the block's value of largest |x|.

    `offset` is where the window starts in the full matrix, so edges stay absolute indices.
    maxabs keeps the sign so a diverging colour scale still shows which way the extreme points.
    Non-finite values stay visible: a block mean over a NaN is NaN, over an Inf is that Inf; a maxabs
    block keeps its Inf (the largest magnitude), else is NaN when it holds a NaN.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, not {method!r}")
    n_rows, n_cols = values.shape
    if n_rows == 0 or n_cols == 0:
        raise ValueError("an empty window has nothing to show")
    row_edges, col_edges = block_edges(n_rows, grid[0]), block_edges(n_cols, grid[1])
    if method == "mean":
        out = block_means(values, row_edges, col_edges)
    else:
        out = _block_maxabs(values, row_edges[:-1], col_edges[:-1])
    # a float64 block mean of values near float32's limit may round past it: kept finite, as the values were
    limit = np.finfo(np.float32).max
    out = np.where(np.isfinite(out), np.clip(out, -limit, limit), out)
    return Blocks(out.astype(np.float32), row_edges + offset[0], col_edges + offset[1], method, (n_rows, n_cols))


def _block_maxabs(values: np.ndarray, rs: np.ndarray, cs: np.ndarray) -> np.ndarray:
    """Each block's value of largest |x|, sign kept; fmax/fmin skip NaN so a block's Inf wins over its NaN."""
    hi = np.fmax.reduceat(np.fmax.reduceat(values, rs, axis=0), cs, axis=1)
    lo = np.fmin.reduceat(np.fmin.reduceat(values, rs, axis=0), cs, axis=1)
    out = np.where(np.abs(lo) > np.abs(hi), lo, hi)
    if nonfinite(values) is None:
        return out
    nans = np.add.reduceat(np.add.reduceat(np.isnan(values), rs, axis=0), cs, axis=1) > 0
    return np.where(nans & ~np.isinf(out), np.nan, out)


@dataclass
class MatrixStats:
    """Norms of a window, at full resolution (never of the downsampled grid)."""
    shape: tuple[int, int]
    offset: tuple[int, int]
    abs_max: float
    mean: float
    std: float
    top_rows: list[tuple[int, float]]  # (absolute row index, L2 norm), largest first
    top_cols: list[tuple[int, float]]
    row_norm_median: float
    row_norm_cv: float  # std / mean of the row norms
    iid_row_norm_cv: float  # what i.i.d. Gaussian entries of this shape would give: 1/sqrt(2 * cols)
    rows_label: str = "row"
    cols_label: str = "column"
    nonfinite: NonFinite | None = None  # NaN/Inf in the window, first position absolute; the numbers skip them
    degenerate: str | None = None  # 'all zero' or 'constant (...)' when the finite values have no spread
    n_finite: int = 0  # how many finite values the numbers are taken over


def matrix_stats(values: np.ndarray, offset: tuple[int, int] = (0, 0), top: int = 3,
                 rows_label: str = "row", cols_label: str = "column") -> MatrixStats:
    """Row and column L2 norms of a window and how unevenly the rows carry weight.

    NaN and Inf are left out (norms over each row's finite values; abs_max, mean and std over all finite
    values, NaN when there are none) and counted in `nonfinite`, with its first position made absolute.
    """
    v = np.asarray(values, dtype=np.float64)
    bad = nonfinite(v)
    if bad is not None:
        bad = NonFinite(bad.nan, bad.inf, (bad.first[0] + offset[0], bad.first[1] + offset[1]))
        v = np.where(np.isfinite(v), v, 0.0)  # a left-out value adds nothing to a norm
    kept = finite(values) if bad is not None else v.reshape(-1)
    row_norms, col_norms = np.linalg.norm(v, axis=1), np.linalg.norm(v, axis=0)

    def largest(norms, start):
        idx = np.argsort(-norms, kind="stable")[:top]
        return [(int(i) + start, float(norms[i])) for i in idx]

    mean_norm = row_norms.mean()
    some = kept.size > 0
    return MatrixStats(
        shape=v.shape, offset=tuple(offset), abs_max=float(np.abs(kept).max()) if some else math.nan,
        mean=float(kept.mean(dtype=np.float64)) if some else math.nan,
        std=float(kept.std(dtype=np.float64)) if some else math.nan, top_rows=largest(row_norms, offset[0]), top_cols=largest(col_norms, offset[1]),
        row_norm_median=float(np.median(row_norms)),
        row_norm_cv=float(row_norms.std() / mean_norm) if mean_norm > 0 else 0.0,
        # ||r|| for r of n i.i.d. normals has relative spread ~ 1/sqrt(2n): the 'no structure' baseline
        iid_row_norm_cv=float(1 / math.sqrt(2 * v.shape[1])),
        rows_label=rows_label, cols_label=cols_label, nonfinite=bad,
        degenerate=degenerate(kept) if some else None, n_finite=int(kept.size))
