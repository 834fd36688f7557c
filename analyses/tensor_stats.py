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

`Moments(fast=True)` (the whole-model scan's choice) adds a float32 fast path for float32 chunks,
2-3x faster (~0.6 vs ~1.7 ns a value on one core): when a chunk is all finite (its np.min and np.max are finite; NaN propagates
through both), shifted power sums S_k = sum((x - c)^k), k = 1..4, are taken in float32 over
blocks of FAST_BLOCK values as BLAS dot products (S_1 against a vector of ones) and added
in float64, then turned into the chunk's central moments by exact float64 algebra and merged as
above. The shift c is 0 when the chunk's head says |mean| is small next to the std (no
subtraction pass at all), else the head's mean rounded to float32 (x - c is then exact for values
within a factor 2 of c, so a large mean with a tiny spread loses nothing). A chunk falls back to
the float64 path when the algebra would be ill-conditioned (the sums' mean offset |S_1/n| above
std/4), when its spread max|x - c| is outside [2^-24, 2^24] (float32 over/underflow of the fourth
powers), or when it holds NaN or Inf (the float64 path counts them). Its dot products are longer
than BLOCK, so a caller should pin BLAS to one thread (threadpoolctl), as topics.scan does.

`Moments.add_stored(chunk, dtype)` takes a chunk as a checkpoint stores it (bf16 as uint16 bits,
fp16, fp32) and, where numba is installed, folds it in with one compiled pass (analyses/fused.py):
float64 shifted power sums, the same algebra and fallbacks, and errors ~1000x inside the bound below
(tests/analyses/test_fused.py); without numba it decodes the chunk and calls `add`.

Error bound of the fast path, verified against float64 numpy and scipy.stats (bias=True) in
tests/analyses/test_tensor_stats.py on adversarial data (mean 1e4 with std 1e-2, Student t,
lognormal, Cauchy, one spike in 1e5, bf16-quantised weights, 0/1 values):
    |mean error| <= 1e-6 std        |std error| <= 1e-5 std
    |skew error| <= 1e-5 (1 + |skew|)    |kurtosis error| <= 1e-5 (kurtosis + 3)
(measured worst: 1e-7, 5e-7, 2e-6 and 3e-6 of those scales). Count, min, max and the NaN and Inf
counts are exact on either path.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analyses import fused

# Values per float64 block: two 64 KB buffers stay in L1/L2 while six passes run over them. Kept
# under 10,000 because OpenBLAS splits a longer dot product over all its threads, which is 100x
# slower on a busy machine; a caller that pins BLAS to one thread may pass a larger block.
BLOCK = 8192
# Values per float32 block of the fast path: 128 KB buffers stay in L2. The float32 dot products'
# rounding error grows with the block (it is systematic on quantized data such as bf16): 32K values
# measured 3x more accurate than 64K at the same speed, 16K ~20% slower (Python overhead per block).
FAST_BLOCK = 32768
FAST_MIN_SPREAD, FAST_MAX_SPREAD = 2.0 ** -24, 2.0 ** 24  # max |x - c| the float32 path accepts
_HEAD = 4096  # values of a chunk's head that choose the fast path's shift


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


_ONES = np.ones(0, np.float32)


def _ones(k: int) -> np.ndarray:
    """k float32 ones (a shared read-only array, grown once)."""
    global _ONES
    if _ONES.size < k:
        ones = np.ones(max(k, FAST_BLOCK), np.float32)
        ones.flags.writeable = False
        _ONES = ones
    return _ONES[:k]


class Moments:
    """Streaming accumulator of count, mean, M2..M4 (sums of centred powers), min, max, NaN and Inf."""

    __slots__ = ("n", "mean", "m2", "m3", "m4", "min", "max", "nan", "inf", "block", "fast", "fast_chunks",
                 "_y", "_y2", "_d", "_d2")

    def __init__(self, block: int = BLOCK, fast: bool = False) -> None:
        self.n, self.mean, self.m2, self.m3, self.m4 = 0, 0.0, 0.0, 0.0, 0.0
        self.min, self.max = math.inf, -math.inf
        self.nan = self.inf = 0
        self.block = block
        self.fast = fast  # float32 chunks may take the float32 shifted-power-sum path (see the module doc)
        self.fast_chunks = 0  # chunks that took it (the rest took the float64 path)
        self._y = self._y2 = None  # float64 scratch blocks, allocated once per accumulator
        self._d = self._d2 = None  # float32 scratch blocks of the fast path

    def add(self, x: np.ndarray) -> "Moments":
        """Fold in the values of `x` (any shape, any float dtype). Returns self."""
        x = np.ravel(x)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        if self.fast and x.dtype == np.float32 and x.size and self._add_fast(x):
            self.fast_chunks += 1
            return self
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

    def _add_fast(self, x: np.ndarray) -> bool:
        """The float32 path for one chunk; False (nothing folded in) where the float64 path must run."""
        n = x.size
        if self.n:  # the shift from the values so far
            c = self._shift(self.mean, math.sqrt(self.m2 / self.n))
        else:  # from the chunk's head; NaN or Inf there: the float64 path
            head = x[:_HEAD].astype(np.float64)
            c = self._shift(float(head.mean()), float(head.std()))
            if c is None:
                return False
        c32 = np.float32(c)
        fb = min(FAST_BLOCK, n)
        if self._d is None or self._d.size < fb:
            self._d, self._d2 = np.empty(fb, np.float32), np.empty(fb, np.float32)
        lo, hi = float(np.minimum.reduce(x)), float(np.maximum.reduce(x))  # NaN propagates through both
        if not (hi - c <= FAST_MAX_SPREAD and c - lo <= FAST_MAX_SPREAD):  # NaN, Inf or float32 overflow
            return False
        s1 = s2 = s3 = s4 = 0.0
        dot = np.dot  # no wrapper lookup: ~1 us a call saved
        ones = _ones(fb)
        for start in range(0, n, fb):  # each step's passes run over one L2-resident block
            d = x[start:start + fb]
            k = d.size
            if c:
                d = np.subtract(d, c32, out=self._d[:k])
            d2 = np.square(d, out=self._d2[:k])  # np.square is ~2x faster than np.multiply(d, d)
            s1 += float(dot(d, ones if k == fb else ones[:k]))  # a BLAS sum: np.add.reduce is ~2x slower
            s2 += float(dot(d, d))
            s3 += float(dot(d2, d))
            s4 += float(dot(d2, d2))
        if lo != hi and max(hi - c, c - lo) < FAST_MIN_SPREAD:  # fourth powers would underflow float32
            return False
        return self._add_power_sums(n, c, s1, s2, s3, s4, lo, hi)

    def add_stored(self, stored: np.ndarray, dtype: str) -> "Moments":
        """Fold in a flat chunk as a checkpoint stores it: dtype "BF16" (uint16 bits), "F16" or "F32".

        With numba (analyses.fused) one compiled pass takes its float64 power sums; without it, or
        where that pass cannot be used (a NaN or Inf, ill-conditioned sums), the values are
        decoded to float32 and added as by `add`. Returns self.
        """
        if stored.size and fused.available():
            c = self._stored_shift(stored, dtype)
            if c is not None:
                sums = fused.power_sums(stored, dtype, c)
                if sums.finite and self._add_power_sums(stored.size, c, *sums[:6]):
                    self.fast_chunks += 1
                    return self
        return self.add(fused.decode(stored, dtype))

    def _stored_shift(self, stored: np.ndarray, dtype: str) -> float | None:
        """The power sums' shift, as for `_add_fast`; the head's moments come from the kernel itself."""
        if self.n:
            return self._shift(self.mean, math.sqrt(self.m2 / self.n))
        head = fused.power_sums(stored[:_HEAD], dtype, 0.0)
        if not head.finite:
            return None
        k = min(stored.size, _HEAD)
        mu = head.s1 / k
        return self._shift(mu, math.sqrt(max(head.s2 / k - mu * mu, 0.0)))

    @staticmethod
    def _shift(mean: float, std: float) -> float | None:
        """Where to centre power sums: 0 when |mean| is small next to std (no subtraction pass), else
        the mean rounded to float32 (x - c is then exact for values within a factor 2 of it). None: NaN/Inf."""
        if not (math.isfinite(mean) and math.isfinite(std)):
            return None
        return 0.0 if abs(mean) * 16 <= std else float(np.float32(mean))

    def _add_power_sums(self, n: int, c: float, s1: float, s2: float, s3: float, s4: float,
                        lo: float, hi: float) -> bool:
        """Fold in n values given their sums S_k of (x - c)^k, min and max; False where ill-conditioned."""
        if lo == hi:  # constant: its moments are exact zeros
            self.min, self.max = min(self.min, lo), max(self.max, hi)
            self._merge(n, lo, 0.0, 0.0, 0.0)
            return True
        # shifted power sums -> central moments (exact algebra, float64)
        dm = s1 / n  # mean - c
        var = s2 / n - dm * dm
        if not (var > 0 and 16 * dm * dm <= var and math.isfinite(s4)):  # ill-conditioned: float64 path
            return False
        m2 = n * var
        m3 = s3 - 3 * dm * s2 + 2 * n * dm ** 3
        m4 = s4 - 4 * dm * s3 + 6 * dm * dm * s2 - 3 * n * dm ** 4
        self.min, self.max = min(self.min, lo), max(self.max, hi)
        self._merge(n, c + dm, m2, m3, m4)
        return True

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
