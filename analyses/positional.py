"""Learned positional embeddings W_pos [n_ctx, d_model], and rotary frequencies for rotary models.

The blog notebook looked at GPT-2's W_pos by eye ("periodic like a sine wave", "neighbouring
positions are similar"); here each of those impressions is a number:
- variance per dimension, and the lowest-, median- and highest-variance dimensions;
- Pearson correlation of each position's vector with the next one's;
- cosine similarity between every pair of positions;
- each dimension's dominant period from its spectrum, and how much of its power sits there.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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


@dataclass
class RotaryFrequencies:
    rotary_dim: int
    base: float
    n_ctx: int | None
    theta: np.ndarray  # (rotary_dim // 2,) angle per position of each rotated pair, radians
    wavelength: np.ndarray  # (rotary_dim // 2,) positions per full turn: 2*pi / theta


@dataclass
class Grid:
    """A strided sample of a matrix for display: values[i, j] = full[rows[i], cols[j]]."""
    values: np.ndarray
    rows: np.ndarray  # the original row indices kept
    cols: np.ndarray  # the original column indices kept
    shape: tuple[int, int]  # the full matrix's shape

    @property
    def sampled(self) -> bool:
        return self.values.shape != self.shape


def variance_dims(w_pos: np.ndarray) -> tuple[np.ndarray, int, int, int]:
    """(variances, lowest, median, highest) dimension by variance over positions.

    The median dimension is the one at the middle of the sorted order (the lower middle for an
    even d_model), so its variance is a real value of the set, not an average of two.
    """
    variances = w_pos.astype(np.float64).var(axis=0)
    order = np.argsort(variances, kind="stable")
    return variances, int(order[0]), int(order[(len(order) - 1) // 2]), int(order[-1])


def adjacent_correlation(w_pos: np.ndarray) -> np.ndarray:
    """(n_ctx - 1,) Pearson correlation of row p with row p + 1, across the d_model dimensions."""
    x = w_pos.astype(np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.einsum("pd,pd->p", x[:-1], x[1:])


def cosine_similarity(w_pos: np.ndarray) -> np.ndarray:
    """(n, n) cosine similarity between every pair of rows (positions)."""
    x = w_pos.astype(np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x @ x.T


def dominant_periods(w_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per dimension (column): the period of the strongest frequency and its share of the power.

    The mean is removed first, so the constant term carries no power; frequency index k over
    n positions is a period of n / k positions. A pure sine with a whole number of cycles gives
    its exact period and a share of 1.0; noise spreads the power and gives a small share.
    """
    x = w_pos.astype(np.float64)
    x = x - x.mean(axis=0)
    power = np.abs(np.fft.rfft(x, axis=0)[1:]) ** 2  # (n//2, d_model), k = 1 .. n//2
    peak = power.argmax(axis=0)
    total = power.sum(axis=0)
    share = np.divide(power[peak, np.arange(x.shape[1])], total, out=np.zeros(x.shape[1]), where=total > 0)
    return x.shape[0] / (peak + 1.0), share


def summarize(w_pos: np.ndarray) -> PositionalSummary:
    """Every number the positional page and report show, for W_pos [n_ctx, d_model]."""
    variances, low, mid, high = variance_dims(w_pos)
    periods, share = dominant_periods(w_pos)
    n_ctx, d_model = w_pos.shape
    return PositionalSummary(n_ctx, d_model, variances, low, mid, high, adjacent_correlation(w_pos), periods, share)


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
    """Keep every k-th row and every m-th column so that at most max_cells remain.

    Strided rather than averaged: each cell shown is a real entry (dimensions of W_pos are
    unrelated, so averaging neighbouring dimensions would invent values). The row/column split
    of the budget follows the matrix's aspect ratio.
    """
    n, m = matrix.shape
    if n * m <= max_cells:
        return Grid(matrix, np.arange(n), np.arange(m), (n, m))
    scale = math.sqrt(max_cells / (n * m))
    rows = strided_indices(n, max(1, math.floor(n * scale)))
    cols = strided_indices(m, max(1, max_cells // len(rows)))
    return Grid(matrix[np.ix_(rows, cols)], rows, cols, (n, m))


def reading(s: PositionalSummary) -> str:
    """A markdown paragraph reading the numbers of `summarize`."""
    v = s.variances
    r = s.adjacent_correlation
    worst = int(r.argmin())
    periodic = s.peak_power >= STRONG_PEAK
    text = (f"Dimension **{s.highest_variance_dim}** varies most over the {s.n_ctx} positions "
            f"(variance {v[s.highest_variance_dim]:.3g}), **{s.median_variance_dim}** is the median "
            f"({v[s.median_variance_dim]:.3g}) and **{s.lowest_variance_dim}** the least "
            f"({v[s.lowest_variance_dim]:.3g}). Neighbouring positions correlate at r = **{np.median(r):.2f}** "
            f"(median); the weakest link is position {worst} → {worst + 1} (r = {r[worst]:.2f}). ")
    # one cycle over the whole context is a slow drift rather than a repeating wave: counted apart
    repeating = periodic & (s.periods <= s.n_ctx / 2)
    if periodic.any():
        text += (f"**{int(periodic.sum())}** of {s.d_model} dimensions put at least {STRONG_PEAK:.0%} of their power "
                 f"at one frequency, i.e. look like a sine wave; {int(repeating.sum())} of them repeat at least "
                 f"twice within the context")
        if repeating.any():
            top = int(np.argmax(np.where(repeating, s.peak_power, -1)))
            text += (f", most cleanly dimension {top} (period {s.periods[top]:.1f} positions, "
                     f"{s.peak_power[top]:.0%} of its power)")
        text += "."
    else:
        text += (f"No dimension puts {STRONG_PEAK:.0%} of its power at one frequency (the most is "
                 f"{s.peak_power.max():.0%}), so none is sine-like.")
    return text


def rotary_reading(f: RotaryFrequencies) -> str:
    text = (f"Positions enter through rotary embeddings: {len(f.theta)} pairs of each head's first "
            f"{f.rotary_dim} dimensions rotate by θᵢ = {f.base:g}^(−2i/{f.rotary_dim}) radians per position, "
            f"with wavelengths from **{f.wavelength.min():.1f}** to **{f.wavelength.max():,.0f}** positions.")
    if f.n_ctx:
        longer = int((f.wavelength > f.n_ctx).sum())
        text += (f" {longer} of the {len(f.theta)} pairs turn less than once across the {f.n_ctx:,}-position "
                 f"context, so they carry only coarse position.")
    return text
