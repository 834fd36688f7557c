"""One-pass power sums of a chunk, compiled with numba: the whole-model statistics scan's inner loop.

    sums = power_sums(chunk, "BF16", shift)   # PowerSums(s1..s4 of (x - shift), lo, hi, finite)

numpy needs six passes over a chunk for its statistics (decode, min, max, square, four dot
products: ~0.73 ns a value on one core here); this loop reads each value once and keeps every sum
in registers (~0.29 ns a value for bf16 and float32, ~0.41 for fp16), and sums in float64 where
numpy's fast path sums float32. Min and max come from integer min and max of the bit patterns,
read as signed and as unsigned (four integer reductions, which vectorise; float min/max with NaN
rules do not), and a NaN or Inf cannot hide: it shows as a pattern from +Inf's or -Inf's on,
`finite` is False and the caller takes its exact float64 path, which counts them. The fastmath
flags let the compiler reorder the float sums (which is what vectorises them), but not assume the
data finite: a chunk with a NaN or Inf gives meaningless sums, never undefined behaviour.

numba is a dependency (requirements.txt), but an install without it still works: `available()`
is False and the caller keeps its numpy path. Compiled code is cached on disk (numba's
`cache=True`, in __pycache__), so only a machine's first use compiles (0.3-0.4 s a kernel).
Loading numba and the cached code still costs a process ~0.45 s (0.15 of it scipy.linalg, which
numba imports) and ~64 MB, so the scan uses it only for large models.
"""
from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np


class PowerSums(NamedTuple):
    """Sums over one chunk of (x - shift)^k, k = 1..4, in float64; min and max of x; all finite?"""
    s1: float
    s2: float
    s3: float
    s4: float
    lo: float
    hi: float
    finite: bool  # False: a NaN or Inf is in the chunk, and the other fields are meaningless


DTYPES = ("BF16", "F16", "F32")  # stored dtypes with a kernel; others are decoded to float32 first
_kernels = None  # {dtype: compiled function}, loaded on first use; {} where numba is missing


def available() -> bool:
    """Whether numba is importable here. The first call imports it (~0.15 s); each kernel compiles, or
    loads from numba's disk cache, on its first use."""
    return bool(_load())


def power_sums(stored: np.ndarray, dtype: str, shift: float) -> PowerSums:
    """One chunk's sums: `stored` is the chunk as stored (bf16 as uint16 bits, F16, F32), flat, non-empty."""
    signed, unsigned, _ = _VIEWS[dtype]
    s1, s2, s3, s4, smin, smax, umin, umax = _load()[dtype](stored.view(signed), shift)
    # Bit patterns as signed integers order the floats whose sign bit is clear; as unsigned, those
    # whose sign bit is set come last, ordered by magnitude. So: the largest value is the largest
    # signed pattern if any has its sign clear, else the smallest unsigned; the smallest value is
    # the largest unsigned pattern if any has its sign set, else the smallest signed. A NaN or Inf
    # with its sign clear is a signed pattern from +Inf's up; with its sign set, an unsigned from -Inf's.
    inf = _INF_BITS[dtype]
    sign = 1 << (np.dtype(unsigned).itemsize * 8 - 1)
    finite = smax < inf and umax < sign | inf
    hi = smax if smax >= 0 else umin
    lo = umax if umax >= sign else smin
    return PowerSums(s1, s2, s3, s4, _value(lo, dtype), _value(hi, dtype), finite)


def decode(stored: np.ndarray, dtype: str) -> np.ndarray:
    """A chunk as stored -> float32 (for the caller's numpy path)."""
    if dtype == "BF16":
        return (stored.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    return stored.view(_VIEWS[dtype][2]).astype(np.float32, copy=False)


_INF_BITS = {"BF16": 0x7F80, "F16": 0x7C00, "F32": 0x7F800000}
_VIEWS = {"BF16": (np.int16, np.uint16, None), "F16": (np.int16, np.uint16, np.float16),
          "F32": (np.int32, np.uint32, np.float32)}  # (signed, unsigned, float) views of the bits


def _value(pattern: int, dtype: str) -> float:
    """The value of one bit pattern (signed or unsigned), exactly."""
    _, unsigned, floating = _VIEWS[dtype]
    bits = int(pattern) & ((1 << (np.dtype(unsigned).itemsize * 8)) - 1)
    if floating is None:  # bf16: the high half of a float32
        return float(np.array(bits << 16, np.uint32).view(np.float32)[()])
    return float(np.array(bits, unsigned).view(floating)[()])


def _load() -> dict:
    global _kernels
    if _kernels is None:
        with _loading:  # one import of numba, even when two sessions' scans start at once
            if _kernels is None:
                try:
                    from analyses import _fused_kernels as k  # imports numba
                except ImportError:  # numba not installed: the numpy path
                    _kernels = {}
                else:
                    _kernels = {"BF16": k.bf16_sums, "F16": k.f16_sums, "F32": k.f32_sums}
    return _kernels


_loading = threading.Lock()
