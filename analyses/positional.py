"""Learned positional embeddings W_pos [n_ctx, d_model], and rotary frequencies for rotary models.

W_pos is often read by eye ("periodic like a sine wave", "neighbouring positions are
similar"); here each of those impressions is a number:
- variance per dimension, and the lowest-, median- and highest-variance dimensions;
- Pearson correlation of each position's vector with the next one's;
- cosine similarity between every pair of positions;
- each dimension's dominant period from its spectrum, and how much of its power sits there.

NaN and Inf values are counted (`PositionalSummary.nonfinite`) and left out: variances over each
dimension's finite values, correlations only between wholly finite positions, periods only for wholly
finite dimensions (a spectrum needs every position); what cannot be computed is NaN.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from analyses.finite import NonFinite, degenerate, finite, nonfinite
from analyses.matrices import downsample

STRONG_PEAK = 0.5  # a dimension with at least this share of its power at one frequency "is periodic"


@dataclass
class PositionalSummary:
    n_ctx: int
    d_model: int
    variances: np.ndarray  # (d_model,) variance of each dimension over positions
    lowest_variance_dim: int
    median_variance_dim: int  # the dimension whose variance is the median (the middle of the sorted order)
    highest_variance_dim: int
    adjacent_correlation: np.ndarray  # (n_ctx - 1,) Pearson r of position p with position p + 1
    periods: np.ndarray  # (d_model,) dominant period in positions (n_ctx / peak frequency index)
    peak_power: np.ndarray  # (d_model,) share of each dimension's spectral power at that peak
    nonfinite: NonFinite | None = None  # NaN/Inf in W_pos (first at position, dimension)
    degenerate: str | None = None  # 'all zero' or 'constant (...)' when the finite values have no spread
    # Whether one position makes the highest variance: its value, and the dimension's variance without it
    peak: OnePosition | None = None
    robust_spread: np.ndarray | None = None  # (d_model,) 1.4826 x MAD over positions: unmoved by one position
    highest_spread_dim: int | None = None  # the dimension of largest robust spread


@dataclass
class OnePosition:
    """The position farthest from its dimension's median in the highest-variance dimension."""
    position: int
    value: float
    variance_without: float  # the dimension's variance over the other positions

    def dominates(self, variance: float) -> bool:
        """Whether this one position is most of the dimension's variance (less than half remains without it)."""
        return bool(np.isfinite(self.variance_without) and self.variance_without < variance / 2)


@dataclass
class RotaryFrequencies:
    rotary_dim: int
    base: float
    n_ctx: int | None
    theta: np.ndarray  # (rotary_dim // 2,) angle per position of each rotated pair, radians
    wavelength: np.ndarray  # (rotary_dim // 2,) positions per full turn: 2*pi / theta


@dataclass
class Grid:
    """A matrix for display: values[i, j] = full[rows[i], cols[j]] (strided, or whole), or with `blocks` set,
    the entry of largest magnitude in the block of rows rows[i]..rows[i+1]-1 and columns cols[j]..cols[j+1]-1."""
    values: np.ndarray
    rows: np.ndarray  # the original row indices kept (the first row of each block)
    cols: np.ndarray  # the original column indices kept (the first column of each block)
    shape: tuple[int, int]  # the full matrix's shape
    blocks: tuple[int, int] | None = None  # (rows, cols) per block when cells are block extremes

    @property
    def sampled(self) -> bool:
        return self.values.shape != self.shape


def variance_dims(w_pos: np.ndarray) -> tuple[np.ndarray, int, int, int]:
    """(variances, lowest, median, highest) dimension by variance over positions.

    The median dimension is the one at the middle of the sorted order (the lower middle for an
    even d_model), so its variance is a real value of the set, not an average of two. Each variance is
    over the dimension's finite values (NaN when it has none); such dimensions are left out of the ranking.
    """
    x = w_pos.astype(np.float64)
    if nonfinite(x) is None:
        variances = x.var(axis=0)
    else:
        kept = np.isfinite(x)
        n = kept.sum(axis=0)
        x = np.where(kept, x, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = x.sum(axis=0) / n
            variances = np.square(np.where(kept, x - mean, 0.0)).sum(axis=0) / n
    ranked = np.flatnonzero(np.isfinite(variances))
    order = ranked[np.argsort(variances[ranked], kind="stable")] if ranked.size else np.zeros(1, dtype=int)
    return variances, int(order[0]), int(order[(len(order) - 1) // 2]), int(order[-1])


def adjacent_correlation(w_pos: np.ndarray) -> np.ndarray:
    """(n_ctx - 1,) Pearson correlation of row p with row p + 1, across the d_model dimensions.

    NaN for a pair with a non-finite or constant row (a correlation needs every value and some spread)."""
    x = w_pos.astype(np.float64)
    x[~np.isfinite(x).all(axis=1)] = np.nan  # a row with one non-finite value has no correlation at all
    x = x - x.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return np.einsum("pd,pd->p", x[:-1], x[1:])


def cosine_similarity(w_pos: np.ndarray) -> np.ndarray:
    """(n, n) cosine similarity between every pair of rows (positions); NaN where a row is not all finite."""
    x = w_pos.astype(np.float64)
    whole = np.isfinite(x).all(axis=1)
    x = np.where(whole[:, None], x, 0.0)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    out = x @ x.T
    out[~whole] = np.nan
    out[:, ~whole] = np.nan
    return out


def dominant_periods(w_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per dimension (column): the period of the strongest frequency and its share of the power.

    The mean is removed first, so the constant term carries no power; frequency index k over
    n positions is a period of n / k positions. A pure sine with a whole number of cycles gives
    its exact period and a share of 1.0; noise spreads the power and gives a small share. A dimension
    with a NaN or Inf has no spectrum: its period and share are NaN.
    """
    x = w_pos.astype(np.float64)
    whole = np.isfinite(x).all(axis=0)
    x = np.where(whole, x, 0.0)
    x = x - x.mean(axis=0)
    power = np.abs(np.fft.rfft(x, axis=0)[1:]) ** 2  # (n//2, d_model), k = 1 .. n//2
    peak = power.argmax(axis=0)
    total = power.sum(axis=0)
    share = np.divide(power[peak, np.arange(x.shape[1])], total, out=np.zeros(x.shape[1]), where=total > 0)
    return np.where(whole, x.shape[0] / (peak + 1.0), np.nan), np.where(whole, share, np.nan)


def summarize(w_pos: np.ndarray) -> PositionalSummary:
    """Every number the positional page and report show, for W_pos [n_ctx, d_model]."""
    variances, low, mid, high = variance_dims(w_pos)
    periods, share = dominant_periods(w_pos)
    n_ctx, d_model = w_pos.shape
    bad = nonfinite(w_pos)
    kept = finite(w_pos)
    spread, widest, peak = robust_dims(w_pos, high)
    return PositionalSummary(n_ctx, d_model, variances, low, mid, high, adjacent_correlation(w_pos), periods, share,
                             bad, degenerate(kept) if kept.size else None, peak, spread, widest)


def robust_dims(w_pos: np.ndarray, high: int) -> tuple[np.ndarray, int | None, OnePosition | None]:
    """(robust spread per dimension, the dimension where it is largest, the highest-variance dimension's
    most extreme position). The spread is 1.4826 x the median absolute deviation over positions (NaN-aware)."""
    x = w_pos.astype(np.float64)
    x = np.where(np.isfinite(x), x, np.nan)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN dimension has no median: NaN, left out
        median = np.nanmedian(x, axis=0)
        spread = 1.4826 * np.nanmedian(np.abs(x - median), axis=0)
    widest = int(np.nanargmax(spread)) if np.isfinite(spread).any() else None
    column = x[:, high]
    if w_pos.shape[0] < 3 or not np.isfinite(column).sum() >= 3:
        return spread, widest, None
    at = int(np.nanargmax(np.abs(column - median[high])))
    rest = np.delete(column, at)
    return spread, widest, OnePosition(at, float(column[at]), float(np.nanvar(rest)))


def rotary_frequencies(rotary_dim: int, base: float, n_ctx: int | None = None) -> RotaryFrequencies:
    """theta_i = base^(-2i / rotary_dim) for each rotated pair i; wavelength 2*pi / theta_i positions."""
    i = np.arange(rotary_dim // 2, dtype=np.float64)
    theta = base ** (-2.0 * i / rotary_dim)
    return RotaryFrequencies(rotary_dim, float(base), n_ctx, theta, 2 * math.pi / theta)


def strided_indices(n: int, keep: int) -> np.ndarray:
    """At most `keep` evenly strided indices of range(n), starting at 0."""
    step = max(1, math.ceil(n / max(keep, 1)))
    return np.arange(0, n, step)


def grid(matrix: np.ndarray, max_cells: int) -> Grid:
    """At most max_cells cells: each the entry of largest magnitude (sign kept) in its block of the matrix.

    Block extremes rather than a strided sample or block means: each cell shown is a real entry (dimensions
    of W_pos are unrelated, so averaging them would invent values), and no entry far from the rest can fall
    between the kept rows and columns. The row/column split of the budget follows the aspect ratio.
    """
    n, m = matrix.shape
    if n * m <= max_cells:
        return Grid(matrix, np.arange(n), np.arange(m), (n, m))
    scale = math.sqrt(max_cells / (n * m))
    n_rows = max(1, math.floor(n * scale))
    reduced = downsample(matrix, (n_rows, max(1, max_cells // n_rows)), "maxabs")
    return Grid(reduced.values, reduced.row_edges[:-1], reduced.col_edges[:-1], (n, m), reduced.block)
