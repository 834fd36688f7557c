"""The compiled loops behind analyses.fused; importing this module imports numba, so only fused does.

Each returns (S1..S4 of x - shift in float64, min and max of the bit patterns read as signed,
min and max read as unsigned); fused.power_sums turns the patterns into min, max and finiteness.
"""
import numba
import numpy as np

# fastmath flags that let the compiler reorder (vectorise) the sums; not 'nnan'/'ninf', under which a
# NaN or Inf in the data would make the whole result undefined rather than just the sums
_REORDER = {"reassoc", "contract", "nsz", "arcp", "afn"}


def _jit(fn):
    try:
        return numba.njit(nogil=True, fastmath=_REORDER, cache=True)(fn)
    except RuntimeError:  # no writable cache directory (a read-only install): compile in each process
        return numba.njit(nogil=True, fastmath=_REORDER)(fn)


@_jit
def _extremes(signed, unsigned, smin, smax, umin, umax):
    return min(smin, signed), max(smax, signed), min(umin, unsigned), max(umax, unsigned)


@_jit
def _powers(d, s1, s2, s3, s4):
    d2 = d * d
    return s1 + d, s2 + d2, s3 + d2 * d, s4 + d2 * d2


@_jit
def bf16_sums(bits, shift):  # bits: int16[n], bf16 patterns
    unsigned = bits.view(np.uint16)
    s1 = s2 = s3 = s4 = 0.0
    smin, smax, umin, umax = np.int16(0x7FFF), np.int16(-0x8000), np.uint16(0xFFFF), np.uint16(0)
    for i in range(bits.size):
        smin, smax, umin, umax = _extremes(bits[i], unsigned[i], smin, smax, umin, umax)
        x = np.uint32(np.int32(bits[i]) << 16).view(np.float32)  # bf16: a float32's high half
        s1, s2, s3, s4 = _powers(np.float64(x) - shift, s1, s2, s3, s4)
    return s1, s2, s3, s4, smin, smax, umin, umax


@_jit
def f16_sums(bits, shift):  # bits: int16[n], IEEE half patterns
    unsigned = bits.view(np.uint16)
    s1 = s2 = s3 = s4 = 0.0
    smin, smax, umin, umax = np.int16(0x7FFF), np.int16(-0x8000), np.uint16(0xFFFF), np.uint16(0)
    for i in range(bits.size):
        smin, smax, umin, umax = _extremes(bits[i], unsigned[i], smin, smax, umin, umax)
        # sign to bit 31, exponent and mantissa 13 bits up: the value times 2^-112 as a float32
        # (subnormals included); times 2^112 in float64 is then exact. Inf/NaN: see fused.power_sums.
        w = np.int32(unsigned[i])
        x = np.uint32(((w & 0x8000) << 16) | ((w & 0x7FFF) << 13)).view(np.float32)
        s1, s2, s3, s4 = _powers(np.float64(x) * 5192296858534827628530496329220096.0 - shift,  # 2^112
                                 s1, s2, s3, s4)
    return s1, s2, s3, s4, smin, smax, umin, umax


@_jit
def f32_sums(bits, shift):  # bits: int32[n], float32 patterns
    unsigned, values = bits.view(np.uint32), bits.view(np.float32)
    s1 = s2 = s3 = s4 = 0.0
    smin, smax = np.int32(0x7FFFFFFF), np.int32(-0x80000000)
    umin, umax = np.uint32(0xFFFFFFFF), np.uint32(0)
    for i in range(bits.size):
        smin, smax, umin, umax = _extremes(bits[i], unsigned[i], smin, smax, umin, umax)
        s1, s2, s3, s4 = _powers(np.float64(values[i]) - shift, s1, s2, s3, s4)
    return s1, s2, s3, s4, smin, smax, umin, umax
