"""A vision transformer's learned positions on its 2-D patch grid, its patch filters, and its class token.

W_pos [prefix + rows * cols, d_model] holds the prefix tokens' rows first, then the patch grid row by row.
ViT papers draw, for each patch position, its cosine similarity to every other position as a small map laid
out on the grid; a model that learned the 2-D layout shows bright rows and columns through each position.
Here that impression is two numbers:
- row/column advantage: the mean cosine to positions sharing the row or the column, minus the mean cosine to
  positions sharing neither (0 for positions with no 2-D structure);
- distance trend: Spearman's rho between cosine and grid distance over all pairs (negative: nearer is more alike).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analyses._scipy import stats

ROW_COL_MARGIN = 0.1  # a row/column advantage at least this large (in cosine) "is" a learned 2-D layout
DISTANCE_RHO = -0.3  # a distance trend at most this "is" locality: nearer positions are more alike


@dataclass
class GridSimilarity:
    """Cosine similarity of chosen anchor positions to every position of the patch grid."""
    grid: tuple[int, int]  # (rows, cols)
    anchors: np.ndarray  # (n_anchors, 2): (row, col) of each anchor on the grid
    maps: np.ndarray  # (n_anchors, rows, cols): maps[a, r, c] = cos(W_pos[anchor a], W_pos[patch (r, c)])
    row_col_advantage: float  # mean cos to same row or column minus mean cos to the rest (NaN if undefined)
    same_line: float  # mean cosine to positions sharing the row or the column (self excluded)
    elsewhere: float  # mean cosine to positions sharing neither
    distance_rho: float  # Spearman rho of cosine against Euclidean grid distance over all pairs


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; a zero row stays zero (its cosines are 0, not NaN)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def anchor_positions(grid: tuple[int, int], per_side: int) -> np.ndarray:
    """(n, 2) (row, col) anchors evenly spread over the grid, at most per_side along each side."""
    rows, cols = grid
    r = np.unique(np.linspace(0, rows - 1, min(rows, per_side)).round().astype(int))
    c = np.unique(np.linspace(0, cols - 1, min(cols, per_side)).round().astype(int))
    return np.array([(i, j) for i in r for j in c])


def grid_similarity(patches: np.ndarray, grid: tuple[int, int], anchors: np.ndarray) -> GridSimilarity:
    """patches: (rows * cols, d_model), the patch rows of W_pos in grid order; anchors (n, 2) from anchor_positions."""
    rows, cols = grid
    unit = unit_rows(patches.astype(np.float64))
    index = anchors[:, 0] * cols + anchors[:, 1]
    maps = (unit[index] @ unit.T).reshape(len(anchors), rows, cols)  # (n_anchors, rows, cols)
    sim = unit @ unit.T  # (P, P), P = rows * cols; a grid of up to a few thousand patches fits
    r, c = np.divmod(np.arange(rows * cols), cols)
    same_row, same_col = r[:, None] == r[None, :], c[:, None] == c[None, :]
    off_diag = ~np.eye(rows * cols, dtype=bool)
    line = (same_row | same_col) & off_diag
    rest = ~(same_row | same_col)
    same_line = float(sim[line].mean()) if line.any() else np.nan
    elsewhere = float(sim[rest].mean()) if rest.any() else np.nan
    upper = np.triu(off_diag)
    distance = np.hypot(r[:, None] - r[None, :], c[:, None] - c[None, :])[upper]
    rho = float(stats.spearmanr(sim[upper], distance).statistic) if upper.sum() > 2 else np.nan
    return GridSimilarity(grid, anchors, maps.astype(np.float32), same_line - elsewhere, same_line, elsewhere, rho)


def is_two_dimensional(s: GridSimilarity) -> bool:
    """Whether positions are clearly more alike along their own row and column than elsewhere."""
    return bool(np.isfinite(s.row_col_advantage) and s.row_col_advantage >= ROW_COL_MARGIN)


def is_local(s: GridSimilarity) -> bool:
    """Whether nearer positions on the grid are clearly more alike."""
    return bool(np.isfinite(s.distance_rho) and s.distance_rho <= DISTANCE_RHO)


def filter_tiles(w_patch: np.ndarray, n: int) -> np.ndarray:
    """The first n filters of a patch conv [d_model, n_channels, p, p], each scaled to [0, 1] on its own
    (min to 0, max to 1; a constant filter is 0.5): (n, n_channels, p, p)."""
    f = w_patch[:n].astype(np.float64)
    lo = f.min(axis=(1, 2, 3), keepdims=True)
    span = f.max(axis=(1, 2, 3), keepdims=True) - lo
    return np.where(span > 0, (f - lo) / np.where(span > 0, span, 1.0), 0.5)


def cosine_to_rows(vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(n,) cosine similarity of one vector (d,) to each row of rows (n, d)."""
    v = vector.astype(np.float64)
    norm = np.linalg.norm(v)
    return unit_rows(rows.astype(np.float64)) @ (v / norm if norm > 0 else v)
