"""Malformed GGUF files get one clear LoadError, quickly, never another exception or a hang; files that still
open read every tensor or refuse it with LoadError too.

Files are packed here field by field (`pack`), so each test can put any value in any field: counts, lengths,
dims, type ids and offsets past what the file holds. FUZZ_EXAMPLES=20000 runs more random files per test.
"""
from __future__ import annotations

import os
import struct
import tempfile
import time

import numpy as np
import pytest
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as Q, GGUFValueType as V
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters import LoadError, Policy, open_model
from adapters.sources import from_upload

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=2000, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SECONDS = 2.0  # the slowest refusal allowed


def _str(s: str | bytes, length: int | None = None) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b) if length is None else length) + b


def _kv(key: str, vtype: int, payload: bytes) -> bytes:
    return _str(key) + struct.pack("<I", vtype) + payload


def _tensor(name: str, ne: tuple[int, ...], qtype: int, offset: int, n_dims: int | None = None) -> bytes:
    return (_str(name) + struct.pack("<I", len(ne) if n_dims is None else n_dims)
            + b"".join(struct.pack("<Q", d) for d in ne) + struct.pack("<II", qtype, 0)[:4] + struct.pack("<Q", offset))


D, HEADS = 64, 4


def _weights() -> list[tuple[str, tuple[int, ...], Q]]:
    """A one-layer Llama in GGUF names, ne fastest first: every matrix Q8_0, norms F32, the MLP F16."""
    return [("token_embd.weight", (D, 11), Q.Q8_0), ("output_norm.weight", (D,), Q.F32),
            ("output.weight", (D, 11), Q.Q8_0), ("blk.0.attn_norm.weight", (D,), Q.F32),
            ("blk.0.attn_q.weight", (D, D), Q.Q8_0), ("blk.0.attn_k.weight", (D, D // 2), Q.Q8_0),
            ("blk.0.attn_v.weight", (D, D // 2), Q.Q8_0), ("blk.0.attn_output.weight", (D, D), Q.Q8_0),
            ("blk.0.ffn_norm.weight", (D,), Q.F32), ("blk.0.ffn_gate.weight", (D, 96), Q.F16),
            ("blk.0.ffn_up.weight", (D, 96), Q.F16), ("blk.0.ffn_down.weight", (96, D), Q.F16)]


def _metadata() -> list[bytes]:
    u32 = lambda v: struct.pack("<I", v)  # noqa: E731
    return [_kv("general.architecture", V.STRING, _str("llama")), _kv("llama.block_count", V.UINT32, u32(1)),
            _kv("llama.embedding_length", V.UINT32, u32(D)), _kv("llama.feed_forward_length", V.UINT32, u32(96)),
            _kv("llama.attention.head_count", V.UINT32, u32(HEADS)),
            _kv("llama.attention.head_count_kv", V.UINT32, u32(HEADS // 2)),
            _kv("llama.rope.freq_base", V.FLOAT32, struct.pack("<f", 10000.0)),
            _kv("tokenizer.ggml.tokens", V.ARRAY, struct.pack("<IQ", V.STRING, 11) + b"".join(_str(f"t{i}")
                                                                                            for i in range(11)))]


def pack(kvs: list[bytes] | None = None, tensors: list[bytes] | None = None, data: bytes | None = None,
         version: int = 3, n_tensors: int | None = None, n_kv: int | None = None, alignment: int = 32) -> bytes:
    """A GGUF file from its parts; any part or count may be given wrong on purpose."""
    kvs = _metadata() if kvs is None else kvs
    if tensors is None:
        tensors, offset, data_parts = [], 0, []
        rng = np.random.default_rng(0)
        for name, ne, q in _weights():
            block, size = GGML_QUANT_SIZES[q]
            nbytes = ne[0] // block * size * int(np.prod(ne[1:]))
            tensors.append(_tensor(name, ne, q, offset))
            blob = (rng.standard_normal(int(np.prod(ne))).astype(np.float32 if q == Q.F32 else np.float16).tobytes()
                    if q in (Q.F32, Q.F16) else _q8_0(rng, nbytes))
            data_parts.append(blob + b"\0" * (-len(blob) % alignment))
            offset += len(data_parts[-1])
        data = b"".join(data_parts) if data is None else data
    head = (b"GGUF" + struct.pack("<IQQ", version, len(tensors) if n_tensors is None else n_tensors,
                                  len(kvs) if n_kv is None else n_kv) + b"".join(kvs) + b"".join(tensors))
    return head + b"\0" * (-len(head) % alignment) + (data or b"")


def _q8_0(rng, nbytes: int) -> bytes:
    """Q8_0 blocks (f16 scale + 32 int8) with finite scales."""
    blocks = rng.integers(-128, 128, (nbytes // 34, 34), dtype=np.int8).view(np.uint8)
    blocks[:, :2] = np.full((len(blocks), 1), 0.01, np.float16).view(np.uint8)
    return blocks.tobytes()


VALID = pack()


def _open_all(path_or_bytes, scratch: str) -> str:
    """Open (a path, or bytes as an upload) and read every tensor: 'ok', or LoadError's message. Nothing else
    may escape, and it may not take long."""
    start = time.perf_counter()
    try:
        if isinstance(path_or_bytes, bytes):
            model = open_model(from_upload(path_or_bytes, "fuzz.gguf", 1 << 30).files[0], policy=Policy())
        else:
            model = open_model(path_or_bytes, policy=Policy())
        for name in model.raw_names():
            model.raw(name)
        outcome = "ok"
    except LoadError as e:
        assert str(e) and "Traceback" not in str(e)
        outcome = str(e)
    assert time.perf_counter() - start < SECONDS
    return outcome


def _refused(tmp_path, blob: bytes, *words: str) -> str:
    path = tmp_path / "bad.gguf"
    path.write_bytes(blob)
    outcome = _open_all(str(path), str(tmp_path))
    assert outcome != "ok", "a malformed file opened"
    for word in words:
        assert word.lower() in outcome.lower(), outcome
    return outcome


def test_the_valid_base_opens_as_llama(tmp_path):
    path = tmp_path / "ok.gguf"
    path.write_bytes(VALID)
    model = open_model(str(path))
    assert model.arch == "llama" and model.cfg.n_heads == HEADS
    assert model.weight("blocks.0.attn.W_Q").shape == (4, 64, 16)


@pytest.mark.parametrize("cut", [0, 3, 4, 8, 20, 30, 60, 200, 400, 700, 1000, -5000, -1])
def test_truncated(tmp_path, cut):
    _refused(tmp_path, VALID[:cut], "gguf" if cut < 4 else "truncated")


BAD_HEADERS = {
    "not gguf": (b"GGML" + VALID[4:], "not a GGUF"),
    "version 1": (pack(version=1), "version 1"),
    "big-endian": (pack(version=3 << 24), "big-endian"),
    "absurd tensor count": (pack(n_tensors=2**63), "tensors"),
    "tensor count past the file": (pack(n_tensors=100_000), "more than the file can hold"),
    "absurd kv count": (pack(n_kv=2**64 - 1), "more than the file can hold"),
    "key length past the end": (pack(kvs=[_str("general.architecture", 2**40)]), "string"),
    "value string past the end": (pack(kvs=[_kv("general.architecture", V.STRING, _str("llama", 10**9))]), ""),
    "array count past the end": (pack(kvs=[*_metadata(), _kv("x", V.ARRAY, struct.pack("<IQ", V.UINT8, 2**62))]),
                                 "more than the file can hold"),
    "unknown value type": (pack(kvs=[*_metadata(), _kv("x", 77, b"")]), "value type 77"),
    "array of arrays of arrays": (pack(kvs=[*_metadata(), _kv("x", V.ARRAY, struct.pack("<IQIQIQ", V.ARRAY, 1,
                                                                                        V.ARRAY, 1, V.ARRAY, 0))]),
                                  "value type"),
    "duplicate key": (pack(kvs=[*_metadata(), _metadata()[1]]), "twice"),
    "no architecture": (pack(kvs=_metadata()[1:]), "general.architecture"),
    "architecture not a string": (pack(kvs=[_kv("general.architecture", V.UINT32, b"\1\0\0\0"), *_metadata()[1:]]),
                                  "general.architecture"),
    "bad alignment": (pack(kvs=[*_metadata(), _kv("general.alignment", V.UINT32, struct.pack("<I", 3))]), "alignment"),
    "alignment a string": (pack(kvs=[*_metadata(), _kv("general.alignment", V.STRING, _str("32"))]), "alignment"),
    "no dims": (pack(tensors=[_tensor("t", (), Q.F32, 0)], data=b"\0" * 32), "dimensions"),
    "five dims": (pack(tensors=[_tensor("t", (1, 1, 1, 1, 1), Q.F32, 0)], data=b"\0" * 32), "dimensions"),
    "n_dims past the end": (pack(tensors=[_tensor("t", (4,), Q.F32, 0, n_dims=2**32 - 1)]), "dimensions"),
    "a zero dim": (pack(tensors=[_tensor("t", (8, 0), Q.F32, 0)], data=b"\0" * 32), "dimension of 0"),
    "absurd dims": (pack(tensors=[_tensor("t", (2**40, 2**40), Q.F32, 0)], data=b"\0" * 32), "larger than any"),
    "unknown type": (pack(tensors=[_tensor("t", (32,), 99, 0)], data=b"\0" * 128), "ggml type 99"),
    "type gguf cannot decode": (pack(tensors=[_tensor("t", (256,), Q.Q8_K, 0)], data=b"\0" * 512), "Q8_K"),
    "rows not whole blocks": (pack(tensors=[_tensor("t", (33,), Q.Q8_0, 0)], data=b"\0" * 64), "blocks"),
    "offset past the end": (pack(tensors=[_tensor("t", (8,), Q.F32, 2**40)], data=b"\0" * 32), "past the end"),
    "data past the end": (pack(tensors=[_tensor("t", (64,), Q.F32, 0)], data=b"\0" * 32), "past the end"),
    "unaligned offset": (pack(tensors=[_tensor("t", (4,), Q.F32, 3)], data=b"\0" * 64), "not aligned"),
    "overlapping tensors": (pack(tensors=[_tensor("a", (16,), Q.F32, 0), _tensor("b", (16,), Q.F32, 32)],
                                 data=b"\0" * 128), "overlap"),
    "duplicate tensor": (pack(tensors=[_tensor("a", (8,), Q.F32, 0), _tensor("a", (8,), Q.F32, 32)],
                              data=b"\0" * 64), "twice"),
    "name past the end": (pack(tensors=[_str("t", 2**50) + b"\0" * 40]), "string"),
    "a stored name that is another's HF name": (pack(tensors=[_tensor("blk.0.attn_q.weight", (8, 8), Q.F32, 0),
                                                              _tensor("model.layers.0.self_attn.q_proj.weight", (8, 8),
                                                                      Q.F32, 256)], data=b"\0" * 512), "two tensors"),
    "heads that do not fit Q": (pack(kvs=[*_metadata()[:4], _kv("llama.attention.head_count", V.UINT32,
                                                                 struct.pack("<I", 5)), *_metadata()[5:]]), "heads"),
}


@pytest.mark.parametrize("case", list(BAD_HEADERS))
def test_malformed_header(tmp_path, case):
    blob, words = BAD_HEADERS[case]
    _refused(tmp_path, blob, *([words] if words else []))


@FUZZ
@given(st.data())
def test_flipped_bytes(data):
    blob = bytearray(VALID)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(blob) - 1))
        blob[at] = data.draw(st.integers(0, 255))
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "f.gguf")
        with open(path, "wb") as f:
            f.write(bytes(blob))
        _open_all(path, scratch)


@FUZZ
@given(st.integers(0, 1400), st.binary(max_size=64), st.sampled_from(["cut", "insert", "path-upload"]))
def test_cut_or_spliced_headers(at, junk, how):
    blob = {"cut": VALID[:at] + junk, "insert": VALID[:at] + junk + VALID[at:], "path-upload": VALID[:at]}[how]
    with tempfile.TemporaryDirectory() as scratch:
        if how == "path-upload":
            _open_all(blob, scratch)
            return
        path = os.path.join(scratch, "f.gguf")
        with open(path, "wb") as f:
            f.write(blob)
        _open_all(path, scratch)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from([V.UINT8, V.INT32, V.UINT64, V.FLOAT32, V.STRING, V.ARRAY, V.BOOL, 13]),
                          st.binary(max_size=40)), max_size=6))
def test_metadata_values_of_any_type_and_bytes(values):
    kvs = [*_metadata(), *(_kv(f"x.{i}", t, b) for i, (t, b) in enumerate(values))]
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "f.gguf")
        with open(path, "wb") as f:
            f.write(pack(kvs=kvs))
        _open_all(path, scratch)


def test_long_arrays_are_counted_not_kept(tmp_path):
    """A vocabulary-sized array is stepped over and kept as its length; nested arrays of any element type too."""
    from adapters.gguf_file import ArrayInfo, GGUFCheckpoint
    strings = struct.pack("<IQ", V.STRING, 5000) + b"".join(_str(f"w{i}") for i in range(5000))
    numbers = struct.pack("<IQ", V.UINT32, 10_000) + b"\1\0\0\0" * 10_000
    empties = struct.pack("<IQ", V.ARRAY, 5000) + struct.pack("<IQ", 99, 0) * 5000  # empty, of an unknown type
    path = tmp_path / "long.gguf"
    path.write_bytes(pack(kvs=[*_metadata(), _kv("x.s", V.ARRAY, strings), _kv("x.n", V.ARRAY, numbers),
                               _kv("x.e", V.ARRAY, empties)]))
    kv = GGUFCheckpoint([str(path)]).kv
    assert (kv["x.s"], kv["x.n"], kv["x.e"]) == (ArrayInfo(V.STRING, 5000), ArrayInfo(V.UINT32, 10_000),
                                                 ArrayInfo(V.ARRAY, 5000))
    assert kv["tokenizer.ggml.tokens"] == [f"t{i}" for i in range(11)]  # short ones are kept
