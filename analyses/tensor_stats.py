"""Per-tensor statistics in one streaming pass: count, mean, std, min, max, skewness, excess kurtosis.

Values arrive in chunks of any size (a whole array, or a checkpoint read piece by piece); each
chunk is cut into cache-sized blocks, each block's central moments are computed in float64, and
blocks are merged with the pairwise update of Chan et al. / Pébay (2008), so no array larger than
one block is ever copied to float64 and a sum of 10^10 values loses no precision to cancellation.
NaN and ±Inf are counted and left out of the moments, min and max.

    acc = Moments()
    for chunk in chunks:                       # float32 pieces of one tensor
        acc.add(chunk)
    stats = acc.result("blocks.0.mlp.W_in")    # TensorStats(count=..., mean=..., skew=..., ...)

The conventions are scipy's defaults: `std` is the population std (ddof=0, as np.std),
`skew` is scipy.stats.skew(bias=True), `kurtosis` is scipy.stats.kurtosis(fisher=True, bias=True).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Values per float64 block: two 64 KB buffers stay in L1/L2 while six passes run over them. Kept
# under 10,000 because OpenBLAS splits a longer dot product over all its threads, which is 100x
# slower on a busy machine; a caller that pins BLAS to one thread may pass a larger block.
BLOCK = 8192


@dataclass(frozen=True)
class TensorStats:
    """Summary of one tensor's finite values; moments are None where they are undefined."""
    name: str
    count: int  # finite values
    mean: float | None  # None when count == 0
    std: float | None  # population std (ddof=0)
    min: float | None
    max: float | None
    skew: float | None  # None when count == 0 or std == 0 (scipy returns nan there)
    kurtosis: float | None  # excess (normal -> 0)
    nan: int = 0
    inf: int = 0  # +Inf and -Inf together
    shape: tuple[int, ...] = ()
    dtype: str = ""


class Moments:
    """Streaming accumulator of count, mean, M2..M4 (sums of centred powers), min, max, NaN and Inf."""

    __slots__ = ("n", "mean", "m2", "m3", "m4", "min", "max", "nan", "inf", "block", "_y", "_y2")

    def __init__(self, block: int = BLOCK) -> None:
        self.n, self.mean, self.m2, self.m3, self.m4 = 0, 0.0, 0.0, 0.0, 0.0
        self.min, self.max = math.inf, -math.inf
        self.nan = self.inf = 0
        self.block = block
        self._y = self._y2 = None  # float64 scratch blocks, allocated once per accumulator

    def add(self, x: np.ndarray) -> "Moments":
        """Fold in the values of `x` (any shape, any float dtype). Returns self."""
        x = np.ravel(x)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        if self._y is None:
            self._y, self._y2 = np.empty(self.block), np.empty(self.block)
        for start in range(0, x.size, self.block):
            self._add_block(x[start:start + self.block])
        return self

    def _add_block(self, c: np.ndarray) -> None:
        k = c.size
        y = self._y[:k]
        y[...] = c  # the block in float64
        with np.errstate(invalid="ignore", over="ignore"):  # inf + -inf, or float64 overflow: handled below
            total = float(np.add.reduce(y))
        if not math.isfinite(total):  # a NaN or Inf is in the block (float32 cannot overflow float64)
            finite = np.isfinite(c)
            n_nan = int(np.count_nonzero(np.isnan(c)))
            self.nan += n_nan
            self.inf += k - n_nan - int(np.count_nonzero(finite))
            c = c[finite]
            k = c.size
            if k == 0:
                return
            y = self._y[:k]
            y[...] = c
            with np.errstate(over="ignore"):
                total = float(np.add.reduce(y))
            if not math.isfinite(total):  # only float64 input near 1e308 gets here
                raise ValueError("values too large to sum in float64; scale the tensor first")
        mean = total / k
        y -= mean  # centred, float64
        y2 = np.multiply(y, y, out=self._y2[:k])
        m2 = float(np.dot(y, y))
        m3 = float(np.dot(y2, y))
        m4 = float(np.dot(y2, y2))
        self.min = min(self.min, float(c.min()))
        self.max = max(self.max, float(c.max()))
        self._merge(k, mean, m2, m3, m4)

    def _merge(self, nb: int, mean_b: float, m2b: float, m3b: float, m4b: float) -> None:
        """Pébay's pairwise update of (n, mean, M2, M3, M4) with another set's moments."""
        na = self.n
        if na == 0:
            self.n, self.mean, self.m2, self.m3, self.m4 = nb, mean_b, m2b, m3b, m4b
            return
        n = na + nb
        d = mean_b - self.mean
        d_n = d / n
        m2a, m3a = self.m2, self.m3
        self.m4 += (m4b + d * d_n ** 3 * na * nb * (na * na - na * nb + nb * nb)
                    + 6 * d_n * d_n * (na * na * m2b + nb * nb * m2a) + 4 * d_n * (na * m3b - nb * m3a))
        self.m3 += m3b + d * d_n * d_n * na * nb * (na - nb) + 3 * d_n * (na * m2b - nb * m2a)
        self.m2 += m2b + d * d_n * na * nb
        self.mean += d_n * nb
        self.n = n

    def merge(self, other: "Moments") -> "Moments":
        """Fold in another accumulator (e.g. one filled by another thread). Returns self."""
        self.nan += other.nan
        self.inf += other.inf
        if other.n:
            self.min, self.max = min(self.min, other.min), max(self.max, other.max)
            self._merge(other.n, other.mean, other.m2, other.m3, other.m4)
        return self

    def result(self, name: str = "", shape: tuple[int, ...] = (), dtype: str = "") -> TensorStats:
        n = self.n
        if n == 0:
            return TensorStats(name, 0, None, None, None, None, None, None, self.nan, self.inf, shape, dtype)
        var = self.m2 / n
        shaped = var > (1e-15 * self.mean) ** 2  # as scipy: a constant up to float64 rounding has no shape
        skew = math.sqrt(n) * self.m3 / self.m2 ** 1.5 if shaped else None
        kurt = n * self.m4 / (self.m2 * self.m2) - 3.0 if shaped else None
        return TensorStats(name, n, self.mean, math.sqrt(var), self.min, self.max, skew, kurt,
                           self.nan, self.inf, shape, dtype)


def tensor_stats(x: np.ndarray, name: str = "", dtype: str = "") -> TensorStats:
    """Statistics of one in-memory array, e.g. tensor_stats(model.raw(n), n).count."""
    return Moments().add(x).result(name, tuple(np.shape(x)), dtype or str(np.asarray(x).dtype))


def chunked_stats(chunks, name: str = "", shape: tuple[int, ...] = (), dtype: str = "") -> TensorStats:
    """Statistics of a tensor given as an iterable of chunks (each may be a reused buffer)."""
    acc = Moments()
    for chunk in chunks:
        acc.add(chunk)
    return acc.result(name, tuple(shape), dtype)
