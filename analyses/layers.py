"""How one slot's weights change with depth: mean/std/min/max per layer, and the distribution of
per-row variance per layer summarised as a box (quartiles, Tukey whiskers) and a violin (KDE).

    summaries = [summarize_layer(l, w_l) for l, w_l in enumerate(matrices)]
    reading(summaries, "attn.W_QKV")
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analyses._scipy import stats as sps

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
    row_variance: Spread  # of the variance of each row (over its columns)

    def record(self) -> dict:
        """JSON-ready, as the report stores it."""
        s = self.row_variance
        return {"layer": self.layer, "mean": self.mean, "std": self.std, "min": self.min, "max": self.max,
                "row_variance": {k: getattr(s, k) for k in ("n", "mean", "min", "q1", "median", "q3", "max",
                                                            "whisker_low", "whisker_high", "n_outliers")}
                | {"grid": s.grid.tolist(), "density": s.density.tolist()}}


def summarize_layer(layer: int, values: np.ndarray) -> LayerSummary:
    """Statistics of one layer's matrix (all entries) and of its per-row variances (ddof=0)."""
    v = np.asarray(values, dtype=np.float64)
    return LayerSummary(layer, float(v.mean()), float(v.std()), float(v.min()), float(v.max()),
                        spread(v.var(axis=1)))


def depth_trend(values) -> float | None:
    """Spearman's rho between layer index and a per-layer number; None when it cannot be judged."""
    y = np.asarray(values, dtype=np.float64)
    if len(y) < 3 or np.ptp(y) == 0:
        return None
    return float(sps.spearmanr(np.arange(len(y)), y).statistic)


def trend_words(rho: float | None, what: str) -> str:
    """'the std rises steadily with depth (Spearman ρ = 0.93)' and the like."""
    if rho is None:
        return f"{what} shows no trend that can be measured"
    direction = "rises" if rho > 0 else "falls"
    if abs(rho) >= 0.7:
        return f"{what} {direction} steadily with depth (Spearman ρ = {rho:.2f})"
    if abs(rho) >= 0.4:
        return f"{what} tends to {direction[:-1]} with depth (Spearman ρ = {rho:.2f})"
    return f"{what} shows no steady trend with depth (Spearman ρ = {rho:.2f})"


def most_departing(summaries: list[LayerSummary]) -> tuple[LayerSummary, float]:
    """The layer whose weight std is furthest, relatively, from the median layer's; and that offset."""
    stds = np.array([s.std for s in summaries])
    offsets = stds / np.median(stds) - 1
    i = int(np.argmax(np.abs(offsets)))
    return summaries[i], float(offsets[i])


def reading(summaries: list[LayerSummary], slot: str = "attn.W_QKV") -> str:
    """Which layer departs most from the others, and how the spread changes with depth."""
    if not summaries:
        return f"No layer has `{slot}`."
    odd, offset = most_departing(summaries)
    lo = min(summaries, key=lambda s: s.std)
    hi = max(summaries, key=lambda s: s.std)
    widest = max(summaries, key=lambda s: max(abs(s.min), abs(s.max)))
    text = (f"Across {len(summaries)} layers the std of `{slot}` runs from **{lo.std:.4g}** (layer {lo.layer}) "
            f"to **{hi.std:.4g}** (layer {hi.layer}). ")
    if len(summaries) > 1:
        text += (f"Layer **{odd.layer}** departs most: its std is **{abs(offset):.0%} "
                 f"{'above' if offset > 0 else 'below'}** the median layer's. ")
    text += (f"The largest |weight| is in layer {widest.layer} "
             f"({max(abs(widest.min), abs(widest.max)):.3g}). ")
    rho_std = depth_trend([s.std for s in summaries])
    rho_var = depth_trend([s.row_variance.median for s in summaries])
    return text + f"{trend_words(rho_std, 'The std')}; {trend_words(rho_var, 'the median per-row variance')}."
