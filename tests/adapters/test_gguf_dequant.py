"""Every ggml type the gguf package can dequantize reads as `gguf.quants.dequantize` of the same bytes: whole,
by rows, and streamed in pieces (the reader decodes row ranges in whole blocks, never the whole file)."""
from __future__ import annotations

import numpy as np
import pytest
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as Q
from gguf.quants import dequantize

from adapters import gguf_file
from adapters.gguf_file import GGUFCheckpoint
from tests.adapters.gguf_craft import write_gguf, write_raw
from tests.adapters.harness import build


def _gguf_decodes(q: Q) -> bool:
    try:
        dequantize(np.zeros((1, GGML_QUANT_SIZES[q][1]), np.uint8), q)
        return True
    except NotImplementedError:
        return False


QUANTS = [q for q in Q if _gguf_decodes(q)]
NUMPY = {Q.I8: np.int8, Q.I16: np.int16, Q.I32: np.int32, Q.I64: np.int64, Q.F64: np.float64}


def test_the_types_under_test_are_the_ones_that_matter():
    assert {Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_K, Q.Q5_K, Q.Q6_K, Q.IQ4_XS, Q.IQ2_XXS, Q.MXFP4} <= set(QUANTS)


def _random_tensor(q: Q, shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Random stored bytes for `shape` of type q (every byte pattern is some block: NaN scales included)."""
    block, size = GGML_QUANT_SIZES[q]
    rows = int(np.prod(shape[:-1]))
    return np.random.default_rng(seed).integers(0, 256, (rows, shape[-1] // block * size), dtype=np.uint8)


@pytest.mark.parametrize("qtype", QUANTS, ids=lambda q: q.name)
def test_every_type_reads_as_gguf_dequantizes(qtype, tmp_path, monkeypatch):
    block = GGML_QUANT_SIZES[qtype][0]
    flat, stacked = (6, 2 * block), (3, 2, block)  # a matrix, and experts [n_experts, out, in]
    raw_flat, raw_stacked = _random_tensor(qtype, flat, 1), _random_tensor(qtype, stacked, 2)
    write_raw(tmp_path / "t.gguf", {"w": (qtype, flat, raw_flat), "experts": (qtype, stacked, raw_stacked)})
    ckpt = GGUFCheckpoint([str(tmp_path / "t.gguf")])
    want = dequantize(raw_flat, qtype).reshape(flat)
    assert ckpt.entries["w"].shape == flat and ckpt.entries["w"].stored == qtype.name
    np.testing.assert_array_equal(ckpt.read("w"), want)
    np.testing.assert_array_equal(ckpt.read_rows("w", 2, 5), want[2:5])
    monkeypatch.setattr(gguf_file, "DECODE_ELEMS", 1)  # one row per decoded piece
    np.testing.assert_array_equal(np.concatenate(list(ckpt.iter_chunks("w", 7))), want.ravel())
    experts = dequantize(raw_stacked.reshape(3, 2, -1), qtype)
    np.testing.assert_array_equal(ckpt.read("experts"), experts)
    np.testing.assert_array_equal(ckpt.read_rows("experts", 1, 2), experts[1:2])


@pytest.mark.parametrize("qtype", [Q.F32, Q.F16, Q.BF16], ids=lambda q: q.name)
def test_plain_floats_stream_as_stored_bits(qtype, tmp_path):
    raw = _random_tensor(qtype, (4, 64), 3)
    write_raw(tmp_path / "t.gguf", {"w": (qtype, (4, 64), raw)})
    ckpt = GGUFCheckpoint([str(tmp_path / "t.gguf")])
    bits = {Q.F32: "<f4", Q.F16: "<f2", Q.BF16: "<u2"}[qtype]
    got = np.concatenate(list(ckpt.iter_stored_chunks("w", 50)))
    np.testing.assert_array_equal(got.view(np.uint8), raw.ravel())
    assert got.dtype == np.dtype(bits)


@pytest.mark.parametrize("qtype", list(NUMPY), ids=lambda q: q.name)
def test_integer_and_f64_tensors_read_as_numpy_does(qtype, tmp_path):
    values = np.arange(-12, 12).astype(NUMPY[qtype]).reshape(4, 6)
    write_raw(tmp_path / "t.gguf", {"w": (qtype, (4, 6), values.view(np.uint8).reshape(4, -1))})
    np.testing.assert_array_equal(GGUFCheckpoint([str(tmp_path / "t.gguf")]).read("w"), values.astype(np.float32))


def test_permuted_rows_read_the_same_every_way(tmp_path, monkeypatch):
    """Q and K come back in Hugging Face's order by rows, by head-aligned pieces and whole."""
    build("llama", tmp_path / "hf", hidden_size=64, num_hidden_layers=1, num_attention_heads=4,
          num_key_value_heads=2, intermediate_size=64, vocab_size=11, max_position_embeddings=8)
    ckpt = GGUFCheckpoint(write_gguf(tmp_path / "hf", tmp_path / "m.gguf", Q.Q8_0))
    for name in ("model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight"):
        whole = ckpt.read(name)
        assert ckpt.entries[name].heads in (4, 2)
        np.testing.assert_array_equal(ckpt.read_rows(name, 5, 27), whole[5:27])
        monkeypatch.setattr(gguf_file, "DECODE_ELEMS", 1)  # one head per piece
        np.testing.assert_array_equal(np.concatenate(list(ckpt.iter_chunks(name, 100))), whole.ravel())


@pytest.mark.parametrize("qtype", [Q.Q8_0, Q.Q4_K, Q.Q6_K], ids=lambda q: q.name)
def test_compiled_decoders_equal_gguf_and_are_the_ones_used(qtype, tmp_path, monkeypatch):
    from adapters import ggml_kernels
    raw = _random_tensor(qtype, (64, 2 * GGML_QUANT_SIZES[qtype][0]), 7)  # NaN and Inf scales included
    np.testing.assert_array_equal(ggml_kernels.decode(raw, qtype.name), dequantize(raw, qtype).ravel())
    write_raw(tmp_path / "t.gguf", {"w": (qtype, (64, 2 * GGML_QUANT_SIZES[qtype][0]), raw)})
    ckpt = GGUFCheckpoint([str(tmp_path / "t.gguf")])

    def refuse(*args):
        raise AssertionError("gguf's numpy decoder was called for a compiled type")
    monkeypatch.setattr(gguf_file, "dequantize", refuse)
    np.testing.assert_array_equal(ckpt.read("w").ravel(), ggml_kernels.decode(raw, qtype.name))


def test_without_numba_gguf_decodes(monkeypatch):
    from adapters import ggml_kernels
    monkeypatch.setattr(ggml_kernels, "_kernels", lambda: None)
    assert ggml_kernels.decode(np.zeros((1, 34), np.uint8), "Q8_0") is None
