"""adapters.dtypes against torch's own conversions: every bf16 and fp16 bit pattern, every fp8 byte
(NaN and Inf included), the other stored types, and each decoder (new array, into a buffer, by chunks)."""
import numpy as np
import pytest
import torch

from adapters.dtypes import DTYPES, FP8_FORMATS, chunk_decoder, decode_into, fp8_table, from_torch, to_float32


def _every_pattern(dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """(stored bits, torch's float32 of them) for every bit pattern of a 1- or 2-byte float type."""
    itemsize = DTYPES[dtype].itemsize
    patterns = np.arange(1 << (8 * itemsize), dtype=np.uint32).astype(f"<u{itemsize}")  # (256,) or (65536,)
    want = torch.frombuffer(bytearray(patterns.tobytes()), dtype=getattr(torch, DTYPES[dtype].torch)).float()
    return patterns.view(DTYPES[dtype].bits), want.numpy()


def _same(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)  # NaN matches NaN, at the same positions only
    finite = np.isfinite(want)
    assert np.array_equal(got[finite].view(np.uint32), want[finite].view(np.uint32))  # -0.0 is not 0.0


@pytest.mark.parametrize("dtype", ["BF16", "F16", "F8_E4M3", "F8_E5M2"])
def test_every_bit_pattern_decodes_like_torch(dtype):
    bits, want = _every_pattern(dtype)
    _same(to_float32(bits, dtype), want)
    _same(decode_into(bits, dtype, np.full(bits.size, 7.0, np.float32)), want)
    if dtype == "BF16":  # bf16 is exactly the high half of a float32: NaN payloads are kept too
        assert np.array_equal(to_float32(bits, dtype).view(np.uint32), want.view(np.uint32))


@pytest.mark.parametrize("dtype", list(FP8_FORMATS))
def test_fp8_tables_have_torch_nans_and_infs(dtype):
    _, want = _every_pattern(dtype)
    table = fp8_table(dtype)
    np.testing.assert_array_equal(np.flatnonzero(np.isnan(table)), np.flatnonzero(np.isnan(want)))
    np.testing.assert_array_equal(np.flatnonzero(np.isinf(table)), np.flatnonzero(np.isinf(want)))
    assert not table.flags.writeable


@pytest.mark.parametrize("dtype", ["F64", "F32", "I64", "I32", "I16", "I8", "U8", "BOOL"])
def test_other_types_decode_like_torch(dtype):
    values = torch.tensor([0, 1, -1, 3, 127, -128, 100, 255], dtype=torch.float64)
    if dtype == "F64":
        values = torch.cat([values * 1.1, torch.tensor([1e300, -1e300, float("nan"), 1e-300])])  # beyond float32
    t = values.to(getattr(torch, DTYPES[dtype].torch))
    bits = np.frombuffer(bytearray(t.numpy().tobytes()), dtype=DTYPES[dtype].bits)
    want = t.float().numpy()
    _same(to_float32(bits, dtype), want)
    _same(decode_into(bits, dtype, np.empty(bits.size, np.float32)), want)


def test_bool_bytes_other_than_one_are_true():
    np.testing.assert_array_equal(to_float32(np.array([0, 1, 2, 255], np.uint8), "BOOL"), [0, 1, 1, 1])


@pytest.mark.parametrize("dtype", ["BF16", "F16", "F8_E4M3", "F32"])
@pytest.mark.parametrize("ordered", [True, False])
def test_chunk_decoder_reassembles_the_tensor(dtype, ordered):
    bits, want = _every_pattern("BF16" if dtype == "F32" else dtype)
    if dtype == "F32":  # the in-place path: the buffer already holds float32
        bits, want = want.copy(), want
    size = 1000  # even, so the order-free bf16 path applies; the last chunk is shorter
    buffer = np.empty(size, DTYPES[dtype].bits)
    out = buffer if dtype == "F32" else np.empty(size, np.float32)
    decode = chunk_decoder(buffer, dtype, out, ordered)
    for first in range(0, bits.size, size):
        n = min(size, bits.size - first)
        buffer[:n] = bits[first:first + n]
        chunk = decode(n)
        expected = want[first:first + n]
        if dtype == "BF16" and not ordered and n == size:  # the even positions, then the odd ones
            expected = np.concatenate([expected[0::2], expected[1::2]])
        _same(chunk, expected)


def test_the_table_agrees_with_torch_and_numpy():
    for name, stored in DTYPES.items():
        torch_dtype = getattr(torch, stored.torch)
        assert from_torch(torch_dtype) == name
        assert torch.empty(0, dtype=torch_dtype).element_size() == stored.itemsize == np.dtype(stored.bits).itemsize
    assert from_torch(torch.complex64) is None
