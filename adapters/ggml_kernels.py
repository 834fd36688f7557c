"""Compiled decoders of the commonest llama.cpp quantizations (Q4_K, Q6_K, Q8_0), checked against the gguf
package's own `dequantize` on the same bytes (tests/adapters/test_gguf_dequant.py).

Why: gguf's numpy decoder runs Q4_K at ~12 M values/s a thread (many small array passes a block), which made the
statistics scan of a 7B Q4_K file take minutes; one compiled pass per block is an order of magnitude faster.
Layouts are ggml's (ggml-quants.c, `dequantize_row_q4_K` / `_q6_K` / `_q8_0`):
    Q8_0  34 bytes / 32 values:  f16 d, int8 q[32]                        y = d * q
    Q4_K 144 bytes / 256 values: f16 d, f16 dmin, u8 scales[12], u8 qs[128]; 8 sub-blocks of 32 with 6-bit
                                 scale and min: y = d * sc * q - dmin * m
    Q6_K 210 bytes / 256 values: u8 ql[128], u8 qh[64], int8 scales[16], f16 d; y = d * sc * (q6 - 32)
Without numba (a Python it does not support) `decode` returns None and the caller keeps gguf's decoder.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

BLOCK_BYTES = {"Q8_0": 34, "Q4_K": 144, "Q6_K": 210}
BLOCK_VALUES = {"Q8_0": 32, "Q4_K": 256, "Q6_K": 256}


def decode(raw: np.ndarray, kind: str) -> np.ndarray | None:
    """Bytes of whole blocks (uint8, any shape) -> float32 values (flat), or None when not compiled here."""
    kernels = _kernels()
    if kernels is None or kind not in kernels:
        return None
    blocks = np.ascontiguousarray(raw).reshape(-1, BLOCK_BYTES[kind])
    out = np.empty(blocks.shape[0] * BLOCK_VALUES[kind], np.float32)
    kernels[kind](blocks, _halves(blocks, kind), out)
    return out


def _halves(blocks: np.ndarray, kind: str) -> np.ndarray:
    """The blocks' float16 scales as float32 (numba has no float16): [n, 1] or [n, 2] (Q4_K's d and dmin)."""
    if kind == "Q8_0":
        return blocks[:, :2].copy().view(np.float16).astype(np.float32)
    if kind == "Q4_K":
        return blocks[:, :4].copy().view(np.float16).astype(np.float32)
    return blocks[:, 208:210].copy().view(np.float16).astype(np.float32)


@lru_cache(maxsize=1)
def _kernels():
    try:
        from numba import njit
    except ImportError:
        return None

    @njit(parallel=False, cache=True, nogil=True)
    def q8_0(blocks, halves, out):  # pragma: no cover - compiled
        for b in range(blocks.shape[0]):
            d = halves[b, 0]
            for i in range(32):
                q = np.int32(blocks[b, 2 + i])
                out[b * 32 + i] = d * np.float32(q - 256 if q > 127 else q)

    @njit(parallel=False, cache=True, nogil=True)
    def q4_k(blocks, halves, out):  # pragma: no cover - compiled
        for b in range(blocks.shape[0]):
            d, dmin = halves[b, 0], halves[b, 1]
            base = b * 256
            for j in range(8):  # sub-block j of 32 values: its 6-bit scale and min
                if j < 4:
                    sc = blocks[b, 4 + j] & 63
                    m = blocks[b, 4 + j + 4] & 63
                else:
                    sc = (blocks[b, 4 + j + 4] & 0xF) | ((blocks[b, 4 + j - 4] >> 6) << 4)
                    m = (blocks[b, 4 + j + 4] >> 4) | ((blocks[b, 4 + j] >> 6) << 4)
                scale, low = d * np.float32(sc), dmin * np.float32(m)
                q0 = 16 + (j // 2) * 32  # 32 bytes of qs hold sub-blocks 2k (low nibbles) and 2k+1 (high)
                shift = 4 * (j % 2)
                for i in range(32):
                    out[base + j * 32 + i] = scale * np.float32((blocks[b, q0 + i] >> shift) & 0xF) - low

    @njit(parallel=False, cache=True, nogil=True)
    def q6_k(blocks, halves, out):  # pragma: no cover - compiled
        for b in range(blocks.shape[0]):
            d = halves[b, 0]
            for half in range(2):  # two halves of 128 values: 64 bytes of ql, 32 of qh, 8 scales each
                ql, qh, sc = half * 64, 128 + half * 32, 192 + half * 8
                y = b * 256 + half * 128
                for i in range(32):
                    s = i // 16
                    h = np.int32(blocks[b, qh + i])
                    lo0, lo1 = np.int32(blocks[b, ql + i]), np.int32(blocks[b, ql + i + 32])
                    q1 = ((lo0 & 0xF) | (((h >> 0) & 3) << 4)) - 32
                    q2 = ((lo1 & 0xF) | (((h >> 2) & 3) << 4)) - 32
                    q3 = ((lo0 >> 4) | (((h >> 4) & 3) << 4)) - 32
                    q4 = ((lo1 >> 4) | (((h >> 6) & 3) << 4)) - 32
                    scales = (blocks[b, sc + s], blocks[b, sc + s + 2], blocks[b, sc + s + 4], blocks[b, sc + s + 6])
                    for k, q in enumerate((q1, q2, q3, q4)):
                        v = np.int32(scales[k])
                        out[y + i + 32 * k] = d * np.float32(v - 256 if v > 127 else v) * np.float32(q)

    return {"Q8_0": q8_0, "Q4_K": q4_k, "Q6_K": q6_k}
