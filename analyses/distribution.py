"""The distribution of one weight matrix's values: moments, histogram, distance from a normal.

Trained weights are often called "roughly normal"; here that is measured: skewness, excess
kurtosis (0 for a normal), and the Kolmogorov-Smirnov distance from the normal fitted to the
same values (mean and population std, scipy.stats.norm.fit's MLE).

NaN and Inf are counted (`nan`, `inf`) and left out: the moments, the KS test and the histogram
describe the finite values. The histogram bins in float64 where float32 cannot hold the span
(values near float32's limit), so extreme values never break it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from analyses._scipy import special, stats
from analyses.finite import finite, nonfinite
from analyses.tensor_stats import tensor_stats

KS_FULL_LIMIT = 2_000_000  # up to this many values the KS test uses them all (GPT-2 small's c_attn: 1.77M)
KS_SAMPLE_SIZE = 1_000_000  # above it, a uniform random subsample this big, without replacement
KS_SEED = 0  # fixed, so the same matrix always gets the same p-value


@dataclass
class DistributionStats:
    n: int
    mean: float
    std: float  # population std (ddof=0): the fitted normal's scale
    skew: float  # Fisher-Pearson, biased (scipy.stats.skew's default)
    kurtosis: float  # excess kurtosis, biased (scipy.stats.kurtosis's default): 0 for a normal
    ks_statistic: float  # sup |empirical CDF - fitted normal CDF|
    ks_pvalue: float
    ks_n: int  # values the KS test used: n, or KS_SAMPLE_SIZE for a subsample
    nan: int = 0  # NaN values, left out of everything above (n counts finite values only)
    inf: int = 0  # +Inf and -Inf values, left out likewise
    # What one value can do to the moments: robust centre and spread, the most extreme value and where it is
    median: float = float("nan")
    robust_std: float = float("nan")  # 1.4826 x median absolute deviation: the std of a normal, unmoved by outliers
    extreme: float = float("nan")  # the finite value farthest from the median
    extreme_at: tuple[int, ...] = ()  # its index in the input's shape (row, column for a matrix)
    kurtosis_without_extreme: float = float("nan")  # excess kurtosis of the other n - 1 values

    def as_dict(self) -> dict:
        return {k: [int(i) for i in v] if isinstance(v, tuple) else
                float(v) if isinstance(v, (float, np.floating)) else int(v) for k, v in asdict(self).items()}

    @property
    def robust_z(self) -> float:
        """How many robust stds the extreme value lies from the median (inf when the MAD is 0)."""
        gap = abs(self.extreme - self.median)
        return gap / self.robust_std if self.robust_std > 0 else (float("inf") if gap > 0 else 0.0)

    @property
    def one_value_dominates(self) -> bool:
        """Whether the tails the kurtosis reports are mostly one value's: without it, less than half remains."""
        return (self.kurtosis > 0.5 and np.isfinite(self.kurtosis_without_extreme)
                and self.kurtosis_without_extreme < self.kurtosis / 2)


@dataclass
class Histogram:
    edges: np.ndarray  # (bins + 1,)
    counts: np.ndarray  # (bins,)
    density: np.ndarray  # (bins,) counts / (n * width): comparable with the normal's pdf


def moments(values: np.ndarray) -> tuple[float, float, float, float]:
    """(mean, population std, skewness, excess kurtosis), via the shared streaming moments (float64 blocks)."""
    t = tensor_stats(values)
    nan = float("nan")
    return (t.mean if t.mean is not None else nan, t.std or 0.0,
            t.skew if t.skew is not None else nan, t.kurtosis if t.kurtosis is not None else nan)


def ks_values(values: np.ndarray) -> np.ndarray:
    """What the KS test runs on: all values, or the documented seeded subsample if there are too many."""
    flat = values.reshape(-1)
    if flat.size <= KS_FULL_LIMIT:
        return flat
    idx = np.random.default_rng(KS_SEED).choice(flat.size, size=KS_SAMPLE_SIZE, replace=False)
    return flat[idx]


def ks_normal(values: np.ndarray, mean: float, std: float) -> tuple[float, float]:
    """(D, p) of the two-sided one-sample KS test against N(mean, std): the numbers scipy.stats.kstest
    gives (its 'asymp' method for n > 10,000, 'exact' below), 5-10x faster on millions of values
    because the statistic is computed once, in place, from one sort."""
    x = np.sort(values.reshape(-1)).astype(np.float64)  # sorted in its own dtype: float32 sorts 2.5x faster
    n = x.size
    cdf = np.subtract(x, mean)
    cdf /= std
    special.ndtr(cdf, out=cdf)
    gap = np.arange(1, n + 1, dtype=np.float64)
    gap /= n
    gap -= cdf  # i/n - F(x_i): the empirical CDF above the normal's
    d_plus = gap.max()
    d_minus = 1.0 / n - gap.min()  # max F(x_i) - (i-1)/n
    d = float(max(d_plus, d_minus))
    p = stats.kstwo.sf(d, n) if n > 10_000 else stats.kstest(x, "norm", args=(mean, std)).pvalue
    return d, float(min(max(p, 0.0), 1.0))


def describe(values: np.ndarray) -> DistributionStats:
    """Moments of the finite values, and the KS test against the normal fitted to them; NaN and Inf counted."""
    bad = nonfinite(values)
    original = values
    values = finite(values)
    mean, std, skew, kurt = moments(values)
    sample = ks_values(values)
    if std > 0 and np.isfinite(std):
        d, p = ks_normal(sample, mean, std)
    else:
        d, p = float("nan"), float("nan")
    return DistributionStats(int(values.size), mean, std, skew, kurt, d, p, int(sample.size),
                             bad.nan if bad else 0, bad.inf if bad else 0, **outlier(original, values, sample, kurt))


def outlier(original: np.ndarray, values: np.ndarray, sample: np.ndarray, kurtosis: float) -> dict:
    """The robust centre and spread (on the KS sample: all values up to KS_FULL_LIMIT), the finite value
    farthest from the median with its index in `original`'s shape, and the excess kurtosis without it
    (NaN unless the `kurtosis` of all values is above 0.5: lighter tails cannot be one value's)."""
    if values.size == 0:
        return {}
    median = float(np.median(sample))
    robust_std = float(1.4826 * np.median(np.abs(sample.astype(np.float64) - median)))
    lo, hi = int(np.argmin(values)), int(np.argmax(values))  # the farthest from the median is an end
    i = hi if float(values[hi]) - median >= median - float(values[lo]) else lo
    flat = i if values.size == original.size else int(np.flatnonzero(np.isfinite(original.reshape(-1)))[i])
    at = tuple(int(j) for j in np.unravel_index(flat, original.shape))
    # a second moments pass (and a copy) only where tails are heavy enough for one value to matter
    rest = moments(np.delete(values, i))[3] if values.size > 3 and kurtosis > 0.5 else float("nan")
    return {"median": median, "robust_std": robust_std, "extreme": float(values[i]),
            "extreme_at": at, "kurtosis_without_extreme": float(rest)}


def histogram(values: np.ndarray, bins: int = 100, value_range: tuple[float, float] | None = None) -> Histogram:
    """Counts over `bins` equal bins spanning the finite values (or value_range); computed here, not in the browser.

    No finite values: empty edges and counts."""
    values = finite(values)
    if values.size == 0:
        return Histogram(np.empty(0), np.empty(0, np.int64), np.empty(0))
    lo, hi = value_range if value_range is not None else (values.min(), values.max())
    with np.errstate(over="ignore"):
        if values.dtype != np.float64 and not np.isfinite(np.subtract(hi, lo, dtype=values.dtype)):
            values = values.astype(np.float64)  # the span overflows float32: bin in float64
    counts, edges = np.histogram(values, bins=bins, range=value_range)
    widths = np.diff(edges)
    density = counts / max(counts.sum(), 1) / np.where(widths > 0, widths, 1)
    return Histogram(edges, counts, density)


def normal_pdf(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    return stats.norm.pdf(x, loc=mean, scale=std)
