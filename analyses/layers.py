"""How one slot's weights change with depth: mean/std/min/max per layer, and the distribution of
per-row variance per layer summarised as a box (quartiles, Tukey whiskers) and a violin (KDE).

    summaries = [summarize_layer(l, w_l) for l, w_l in enumerate(matrices)]
    depth_trend([s.std for s in summaries])     # Spearman's rho of the std against depth

NaN and Inf are counted and left out: a layer's mean, std, min and max are its finite values', and
the row variances those of its rows that are all finite (a row with a NaN has no variance to show).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analyses._scipy import stats as sps
from analyses.finite import finite, nonfinite

DENSITY_POINTS = 64  # a violin outline; enough to look smooth, few enough to send for every layer


@dataclass
class Spread:
    """A distribution as a box plot and a violin draw it, without its raw values."""
    n: int
    mean: float
    min: float
    q1: float
    median: float
    q3: float
    max: float
    whisker_low: float  # the smallest value >= q1 - 1.5 IQR (Tukey)
    whisker_high: float  # the largest value <= q3 + 1.5 IQR
    n_outliers: int  # values beyond the whiskers
    grid: np.ndarray  # (DENSITY_POINTS,) from min to max; empty when the values are all equal
    density: np.ndarray  # Gaussian KDE (Scott's bandwidth) on grid


def gaussian_density(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Gaussian KDE with Scott's rule, bandwidth = std(ddof=1) * n^(-1/5), as scipy's gaussian_kde."""
    x = np.asarray(values, dtype=np.float64)
    bw = x.std(ddof=1) * len(x) ** (-1 / 5)
    u = (grid[:, None] - x[None, :]) / bw  # (points, n): fine for the tens of thousands of rows we see
    return np.exp(-0.5 * u * u).mean(axis=1) / (bw * math.sqrt(2 * math.pi))


def spread(values: np.ndarray, points: int = DENSITY_POINTS) -> Spread:
    """Quartiles, Tukey whiskers, outlier count and a KDE outline of a 1-D sample."""
    x = np.asarray(values, dtype=np.float64).ravel()
    q1, median, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    lo_fence, hi_fence = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    inside = x[(x >= lo_fence) & (x <= hi_fence)]  # never empty: the quartiles lie inside
    if len(x) > 1 and x.max() > x.min():
        grid = np.linspace(x.min(), x.max(), points)
        density = gaussian_density(x, grid)
    else:
        grid = density = np.empty(0)  # no width to draw
    return Spread(len(x), float(x.mean()), float(x.min()), float(q1), float(median), float(q3), float(x.max()),
                  float(inside.min()), float(inside.max()), int(len(x) - len(inside)), grid, density)


@dataclass
class LayerSummary:
    layer: int
    mean: float
    std: float
    min: float
    max: float
    row_variance: Spread | None  # of the variance of each all-finite row (over its columns); None: no such row
    nan: int = 0  # NaN values, left out of every number above
    inf: int = 0  # +Inf and -Inf values, likewise

    def record(self) -> dict:
        """JSON-ready, as the report stores it."""
        s = self.row_variance
        spread_record = None if s is None else (
            {k: getattr(s, k) for k in ("n", "mean", "min", "q1", "median", "q3", "max",
                                        "whisker_low", "whisker_high", "n_outliers")}
            | {"grid": s.grid.tolist(), "density": s.density.tolist()})
        return {"layer": self.layer, "mean": self.mean, "std": self.std, "min": self.min, "max": self.max,
                "nan": self.nan, "inf": self.inf, "row_variance": spread_record}


def summarize_layer(layer: int, values: np.ndarray) -> LayerSummary:
    """Statistics of one layer's matrix (its finite entries) and of its all-finite rows' variances (ddof=0).

    float64 throughout, so values near float32's limit square without overflowing; no finite value: NaN."""
    v = np.asarray(values, dtype=np.float64)
    bad = nonfinite(v)
    rows = v if bad is None else v[np.isfinite(v).all(axis=1)]
    flat = finite(v)
    nan = float("nan")
    stats = (float(flat.mean()), float(flat.std()), float(flat.min()), float(flat.max())) if flat.size else (nan,) * 4
    return LayerSummary(layer, *stats, spread(rows.var(axis=1)) if rows.size else None,
                        bad.nan if bad else 0, bad.inf if bad else 0)


def depth_trend(values) -> float | None:
    """Spearman's rho between layer index and a per-layer number; None when it cannot be judged."""
    y = np.asarray(values, dtype=np.float64)
    if len(y) < 3 or not np.isfinite(y).all() or np.ptp(y) == 0:
        return None
    return float(sps.spearmanr(np.arange(len(y)), y).statistic)


def depth_change(values) -> float | None:
    """The change over the whole depth relative to the typical value: Theil-Sen slope x (layers - 1) / |median|.

    An effect size for a trend: Spearman's rho is 1 for any monotone sequence, however small its steps.
    Theil-Sen (the median of pairwise slopes) so one odd layer cannot make or hide it. None when it cannot
    be judged (under 3 layers, a non-finite value, or a median of 0).
    Example: depth_change([1.0, 1.1, 1.2]) -> 0.1818... (0.2 over the depth, median 1.1)
    """
    y = np.asarray(values, dtype=np.float64)
    if len(y) < 3 or not np.isfinite(y).all() or np.median(y) == 0:
        return None
    slope = sps.theilslopes(y, np.arange(len(y))).slope
    return float(slope * (len(y) - 1) / abs(np.median(y)))


def most_departing(summaries: list[LayerSummary]) -> tuple[LayerSummary, float]:
    """The layer whose weight std is furthest, relatively, from the median layer's; and that offset.

    Layers without a finite std are left out; when none has one, or the median std is 0, the offset is NaN."""
    stds = np.array([s.std for s in summaries])
    known = np.isfinite(stds)
    if not known.any() or np.median(stds[known]) == 0:
        return summaries[0], float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        offsets = np.where(known, stds / np.median(stds[known]) - 1, 0.0)
    i = int(np.argmax(np.abs(offsets)))
    return summaries[i], float(offsets[i])
