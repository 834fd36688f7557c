"""The element types a checkpoint may store, and their decoding to float32: one table, one decoder each.

    bits = np.frombuffer(raw, DTYPES["BF16"].bits)    # the stored bits, as numpy can hold them
    x = to_float32(bits, "BF16")                      # a new float32 array
    decode_into(bits, "BF16", out)                    # or into a float32 buffer, without a temporary

bf16 and fp8 have no numpy dtype: they are held as their bits (uint16, uint8) and decoded here,
with torch's results (NaN and Inf included; tests/adapters/test_dtypes.py checks every fp8 byte).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, NamedTuple

import numpy as np


class StoredType(NamedTuple):
    itemsize: int  # bytes per element
    bits: str  # numpy dtype the stored bytes are read as
    torch: str  # torch's name for it, to tell what a pickled checkpoint holds


# safetensors dtype name -> how it is stored
DTYPES: dict[str, StoredType] = {
    "F64": StoredType(8, "<f8", "float64"), "F32": StoredType(4, "<f4", "float32"),
    "F16": StoredType(2, "<f2", "float16"), "BF16": StoredType(2, "<u2", "bfloat16"),
    "I64": StoredType(8, "<i8", "int64"), "I32": StoredType(4, "<i4", "int32"),
    "I16": StoredType(2, "<i2", "int16"), "I8": StoredType(1, "i1", "int8"),
    "U64": StoredType(8, "<u8", "uint64"), "U32": StoredType(4, "<u4", "uint32"),
    "U16": StoredType(2, "<u2", "uint16"), "U8": StoredType(1, "u1", "uint8"),
    "BOOL": StoredType(1, "u1", "bool"),
    "F8_E4M3": StoredType(1, "u1", "float8_e4m3fn"), "F8_E5M2": StoredType(1, "u1", "float8_e5m2"),
}
# 8-bit floats: (exponent bits, mantissa bits, exponent bias, is e4m3fn: no Inf, one NaN per sign)
FP8_FORMATS = {"F8_E4M3": (4, 3, 7, True), "F8_E5M2": (5, 2, 15, False)}
_BY_TORCH_NAME = {t.torch: name for name, t in DTYPES.items()}
_BF16_MASK = np.uint32(0xFFFF0000)


def from_torch(torch_dtype) -> str | None:
    """The safetensors name of a torch dtype (torch.bfloat16 -> 'BF16'); None for one not in DTYPES."""
    return _BY_TORCH_NAME.get(str(torch_dtype).removeprefix("torch."))


@lru_cache(maxsize=None)
def fp8_table(dtype: str) -> np.ndarray:
    """(256,) float32: the value of every byte of an 8-bit float format, so decoding is one lookup.

    Example: fp8_table("F8_E4M3")[0x38] -> 1.0
    """
    exp_bits, man_bits, bias, e4m3fn = FP8_FORMATS[dtype]
    table = np.empty(256, dtype=np.float32)
    for byte in range(256):
        sign = -1.0 if byte & 0x80 else 1.0
        exp = (byte >> man_bits) & ((1 << exp_bits) - 1)
        man = byte & ((1 << man_bits) - 1)
        if e4m3fn and exp == 0xF and man == 0x7:
            table[byte] = np.nan
        elif not e4m3fn and exp == (1 << exp_bits) - 1:
            table[byte] = sign * np.inf if man == 0 else np.nan
        elif exp == 0:
            table[byte] = sign * man / (1 << man_bits) * 2.0 ** (1 - bias)
        else:
            table[byte] = sign * (1 + man / (1 << man_bits)) * 2.0 ** (exp - bias)
    table.flags.writeable = False  # shared by every caller
    return table


# e2m1, the 4-bit float of MXFP4 (OCP Microscaling Formats v1.0, section 5.3.3): sign, 2 exponent bits (bias 1),
# 1 mantissa bit, no Inf or NaN; a nibble's value, in nibble order (transformers' integrations/mxfp4.FP4_VALUES)
E2M1_VALUES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0)


@lru_cache(maxsize=None)
def e2m1_pairs() -> np.ndarray:
    """(256, 2) float32: a byte of two packed e2m1 values as (low nibble, high nibble): the low nibble is the
    first value, as transformers and the OCP spec pack them. Example: e2m1_pairs()[0x21] -> [0.5, 1.0]"""
    values = np.array(E2M1_VALUES, dtype=np.float32)
    byte = np.arange(256)
    table = np.stack([values[byte & 0xF], values[byte >> 4]], axis=1)
    table.flags.writeable = False
    return table


@lru_cache(maxsize=None)
def e8m0_table() -> np.ndarray:
    """(256,) float32: an e8m0 scale byte's value, 2^(byte - 127); 0xFF is NaN (OCP Microscaling v1.0, 5.4.1).
    2^-127 is a float32 subnormal, held exactly. Example: e8m0_table()[127] -> 1.0"""
    table = np.append(np.ldexp(1.0, np.arange(255) - 127), np.nan).astype(np.float32)  # 2^-127..2^127 all exact
    table.flags.writeable = False
    return table


def decode_into(bits: np.ndarray, dtype: str, out: np.ndarray) -> np.ndarray:
    """Decode stored `bits` of a safetensors dtype into the float32 buffer `out` (same shape, contiguous).

    No temporary of the chunk's size is made. Returns `out`.
    Example: decode_into(np.array([0x3F80], np.uint16), "BF16", np.empty(1, np.float32)) -> array([1.])
    """
    if dtype == "BF16":  # bf16 is the top half of a float32: widen the 16 bits, shift them up, reinterpret
        wide = out.view(np.uint32)
        wide[...] = bits
        wide <<= 16
    elif dtype == "BOOL":  # any non-zero byte is True, as torch and numpy read it
        np.not_equal(bits, 0, out=out)
    elif dtype in FP8_FORMATS:
        np.take(fp8_table(dtype), bits, out=out, mode="clip")  # a byte is always in range: clip is never used
    else:
        with np.errstate(over="ignore"):  # F64 beyond float32's range becomes +-inf, as in torch
            out[...] = bits
    return out


def to_float32(bits: np.ndarray, dtype: str) -> np.ndarray:
    """Stored `bits` of a safetensors dtype as float32: `bits` itself for F32, else a new array.

    Example: to_float32(np.array([0x3C00], np.uint16).view(np.float16), "F16") -> array([1.], dtype=float32)
    """
    if dtype == "F32":
        return bits.astype(np.float32, copy=False)
    return decode_into(bits, dtype, np.empty(bits.shape, dtype=np.float32))


def chunk_decoder(bits: np.ndarray, dtype: str, out: np.ndarray, ordered: bool = True) -> Callable[[int], np.ndarray]:
    """decode(n): the first n values of the buffer `bits` as float32 in `out[:n]`; views are made once,
    since per chunk they cost ~10%. `bits is out` means float32 read in place.

    With `ordered=False`, a full bf16 chunk comes out as the even positions, then the odd ones: the bits
    are read as uint32 pairs and each half decoded by one pass, ~30% faster than in order. For order-free
    reductions such as statistics.
    """
    if bits is out:
        return lambda n: out[:n]
    if dtype == "BF16" and not ordered and bits.size % 2 == 0:
        return _bf16_halves_decoder(bits, out)
    return lambda n: decode_into(bits[:n], dtype, out[:n])


def _bf16_halves_decoder(bits: np.ndarray, out: np.ndarray) -> Callable[[int], np.ndarray]:
    pairs = bits.view(np.uint32)  # (size/2,): value 2i in the low half, 2i+1 in the high half (little-endian)
    halves = out.view(np.uint32).reshape(2, -1)  # (2, size/2)

    def decode(n: int) -> np.ndarray:
        if n < bits.size:  # the tensor's last, shorter chunk: in order
            return decode_into(bits[:n], "BF16", out[:n])
        np.left_shift(pairs, 16, out=halves[0])  # the even positions, shifted into place
        np.bitwise_and(pairs, _BF16_MASK, out=halves[1])  # the odd ones are in place already
        return out
    return decode
