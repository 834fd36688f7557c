"""Property tests: any mutated safetensors file either opens and reads correctly, or raises LoadError.

Nothing else escapes, no example takes long, and memory stays bounded (tracemalloc peak), through
both a file path and the upload path. The default run is a few thousand files in well under a
minute; FUZZ_EXAMPLES=20000 runs more per test.
"""
from __future__ import annotations

import json
import math
import os
import struct
import tempfile
import tracemalloc

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from safetensors.torch import load as reference_load

from adapters import LoadError, Policy, open_model
from adapters.config import ALIASES
from tests.adapters import craft

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "500"))
FUZZ = settings(max_examples=EXAMPLES, deadline=2000, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PEAK_BYTES = 32 * 1024 * 1024  # every file here is under 100 kB: nothing may allocate near this
LOCAL = Policy()


def _gpt2_like() -> bytes:
    """Names and shapes of a tiny GPT-2 (so the adapter path is fuzzed too), random float16 data."""
    rng = np.random.default_rng(0)
    d, v, n = 8, 11, 6
    shapes = {"wte.weight": (v, d), "wpe.weight": (n, d), "ln_f.weight": (d,), "ln_f.bias": (d,),
              "h.0.ln_1.weight": (d,), "h.0.attn.c_attn.weight": (d, 3 * d), "h.0.attn.c_attn.bias": (3 * d,),
              "h.0.attn.c_proj.weight": (d, d), "h.0.mlp.c_fc.weight": (d, 4 * d), "h.0.mlp.c_proj.weight": (4 * d, d)}
    return craft.valid({k: rng.standard_normal(s).astype(np.float16) for k, s in shapes.items()})


def _all_dtypes() -> bytes:
    """One tensor of every dtype, with arbitrary bits (every bit pattern is some value: NaN, Inf too)."""
    rng = np.random.default_rng(1)
    header, data = {}, b""
    for i, (dtype, size) in enumerate(craft.ITEMSIZE.items()):
        blob = rng.integers(0, 256, 6 * size, dtype=np.uint8).tobytes()  # BOOL bytes of 2..255 too
        header[f"t{i}.{dtype}"] = {"dtype": dtype, "shape": [2, 3], "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    header["empty"] = {"dtype": "F32", "shape": [0, 7], "data_offsets": [len(data), len(data)]}
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45], dtype=np.float32).tobytes()
    header["special"] = {"dtype": "F32", "shape": [6], "data_offsets": [len(data), len(data) + len(special)]}
    return craft.pack(header, data + special)


BASES = [craft.valid(craft.sample(), metadata={"format": "pt"}), _gpt2_like(), _all_dtypes()]


def _reference(blob: bytes) -> dict[str, np.ndarray] | None:
    """The safetensors library's own reading, as float32; None where it refuses the file."""
    try:
        return {k: t.to(torch.float32).numpy() for k, t in reference_load(blob).items()}
    except Exception:  # noqa: BLE001 - the oracle may refuse what we accept: no comparison then
        return None


def _check(blob: bytes, path: str) -> None:
    """Open via a path and via an upload; every outcome is a model that reads right, or LoadError."""
    with open(path, "wb") as f:
        f.write(blob)
    expected = _reference(blob)
    tracemalloc.start()  # only around our code: tracing hypothesis itself would cost more than the test
    try:
        _open_and_read(path, blob, expected)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"{peak:,} bytes allocated for a {len(blob):,}-byte file"


def _open_and_read(path: str, blob: bytes, expected: dict | None) -> None:
    for source in (path, blob):
        try:
            model = open_model(source, policy=LOCAL)
        except LoadError:
            event("refused")
            continue
        event("opened, compared with safetensors" if expected is not None else "opened")
        for name in model.raw_names():
            try:
                got = model.raw(name)
            except LoadError:
                event("a tensor refused")
                continue
            assert got.dtype == np.float32 and got.shape == model.checkpoint.entries[name].shape
            if expected is not None and name in expected:
                np.testing.assert_array_equal(got, expected[name], err_msg=name)  # NaN matches NaN


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        yield os.path.join(folder, "model.safetensors")


def _header_of(blob: bytes) -> tuple[dict, bytes]:
    n = craft.header_length(blob)
    return json.loads(blob[8:8 + n]), blob[8 + n:]


# ---- byte-level mutations -----------------------------------------------------------------------
@FUZZ
@given(base=st.sampled_from(BASES), data=st.data())
def test_flipped_bytes(scratch, base, data):
    blob, header_end = bytearray(base), 8 + craft.header_length(base)
    for _ in range(data.draw(st.integers(1, 8))):
        # Half the flips land in the length + header (mostly refused), half in the data (read back).
        lo, hi = (0, header_end) if data.draw(st.booleans()) else (header_end, len(blob))
        blob[data.draw(st.integers(lo, hi - 1))] = data.draw(st.integers(0, 255))
    _check(bytes(blob), scratch)


@FUZZ
@given(base=st.sampled_from(BASES), data=st.data())
def test_truncated_or_extended(scratch, base, data):
    cut = data.draw(st.integers(0, len(base)))
    tail = data.draw(st.binary(max_size=64))
    _check(base[:cut] + (tail if data.draw(st.booleans()) else b""), scratch)


@FUZZ
@given(base=st.sampled_from(BASES), length=st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 4096),
                                                     st.sampled_from([2**63, 2**64 - 1, 2**31, 2**32 + 8])))
def test_header_length_field(scratch, base, length):
    _check(struct.pack("<Q", length) + base[8:], scratch)


# ---- structured header mutations ----------------------------------------------------------------
JUNK = st.one_of(st.none(), st.booleans(), st.floats(allow_nan=True), st.text(max_size=5),
                 st.integers(-2**70, 2**70), st.lists(st.integers(-3, 3), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
DIM = st.one_of(st.integers(0, 6), st.integers(-5, -1), st.sampled_from([2**31, 2**32, 2**62, 2**63, 2**64, 2**70]), JUNK)
FIELD_VALUES = {
    "dtype": st.one_of(st.sampled_from(list(craft.ITEMSIZE) + ["F8_E8M0", "C64", "F4", "f32", ""]), JUNK),
    "shape": st.one_of(st.lists(DIM, max_size=5), st.lists(st.just(1), min_size=30, max_size=80), JUNK),
    "data_offsets": st.one_of(st.lists(st.one_of(st.integers(-100, 3000), st.integers(-2**64, 2**64)), max_size=3), JUNK),
}


@FUZZ
@given(base=st.sampled_from(BASES), data=st.data())
def test_header_fields_with_wrong_values(scratch, base, data):
    header, payload = _header_of(base)
    names = sorted(k for k in header if k != "__metadata__")
    for _ in range(data.draw(st.integers(1, 4))):
        name = data.draw(st.sampled_from(names))
        field = data.draw(st.sampled_from(list(FIELD_VALUES)))
        if data.draw(st.integers(0, 9)) == 0:
            header[name] = data.draw(JUNK)  # the whole entry replaced
        elif isinstance(header[name], dict):
            header[name][field] = data.draw(FIELD_VALUES[field])
    if data.draw(st.booleans()):
        header["__metadata__"] = data.draw(st.one_of(JUNK, st.dictionaries(st.text(max_size=4), JUNK, max_size=3)))
    _check(craft.pack(json.dumps(header).encode(), payload), scratch)


@FUZZ
@given(data=st.data())
def test_offsets_overlapping_and_out_of_range(scratch, data):
    """Valid dtypes and shapes, offsets anywhere: negative, overlapping, past the end, zero-size."""
    header, payload = {}, data.draw(st.binary(max_size=256))
    for i in range(data.draw(st.integers(1, 5))):
        dtype = data.draw(st.sampled_from(list(craft.ITEMSIZE)))
        shape = data.draw(st.lists(st.integers(0, 4), max_size=3))
        begin = data.draw(st.integers(-8, len(payload) + 8))
        nbytes = int(np.prod(shape, dtype=np.int64)) * craft.ITEMSIZE[dtype]
        end = begin + nbytes if data.draw(st.integers(0, 3)) else data.draw(st.integers(-8, len(payload) + 8))
        header[f"t{i}"] = {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}
    _check(craft.pack(header, payload), scratch)


@FUZZ
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=64),
       dtype=st.sampled_from(["F32", "F16", "BF16"]))
def test_nan_inf_payloads_read_exactly(scratch, values, dtype):
    t = torch.tensor(values, dtype=torch.float32).to({"F32": torch.float32, "F16": torch.float16,
                                                      "BF16": torch.bfloat16}[dtype])
    from safetensors.torch import save
    blob = save({"w": t})
    model = open_model(blob, policy=LOCAL)
    np.testing.assert_array_equal(model.raw("w"), t.to(torch.float32).numpy())
    _check(blob, scratch)


# ---- config.json, shard indexes, torch checkpoints ------------------------------------------------
# Every field the adapters read from config.json, with values of every JSON type and absurd sizes.
CONFIG_KEYS = sorted({k for keys in ALIASES.values() for k in keys}
                     | {"model_type", "architectures", "rope_scaling", "rope_parameters", "rotary_pct",
                        "partial_rotary_factor", "new_decoder_architecture", "multi_query", "alibi", "parallel_attn",
                        "use_parallel_residual", "do_layer_norm_before", "pad_token_id", "n_embed", "sliding_window",
                        "position_embedding_type", "query_pre_attn_scalar", "attn_logit_softcapping"})
NUMBERS = st.one_of(st.integers(-3, 70), st.sampled_from([0, 1, 2, 4, 8, 10**7, 10**18, 2**63, 10**400]),
                    st.floats(allow_nan=True, allow_infinity=True))
CONFIG_VALUES = st.one_of(NUMBERS, JUNK, st.sampled_from(["gpt2", "llama", "falcon", "neox", "²", "٤", ""]),
                          st.dictionaries(st.sampled_from(["rope_theta", "rope_type", "type", "partial_rotary_factor"]),
                                          st.one_of(NUMBERS, JUNK), max_size=3))
DEADLINE_S = 5  # a config must never make opening loop over what it declares


@pytest.fixture(scope="module")
def llama_folder(tmp_path_factory):
    from tests.adapters.harness import build
    folder = tmp_path_factory.mktemp("fuzz-llama")
    build("llama", folder, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=4,
          num_key_value_heads=2, vocab_size=50, max_position_embeddings=32)
    return folder


def _opens_or_refuses(source, n_heads=None) -> None:
    """A Model whose every schema slot reads, or a LoadError: nothing else, within DEADLINE_S."""
    import time
    start = time.perf_counter()
    try:
        model = open_model(source, n_heads=n_heads, policy=LOCAL)
    except LoadError:
        event("refused")
        return
    finally:
        assert time.perf_counter() - start < DEADLINE_S
    event("opened")
    for name in model.names():
        model.weight(name)
    for name in model.raw_names():
        model.raw(name)


@FUZZ
@given(changes=st.dictionaries(st.sampled_from(CONFIG_KEYS), CONFIG_VALUES, min_size=1, max_size=4),
       n_heads=st.one_of(st.none(), st.integers(-2, 9)))
def test_config_fields_with_any_value(llama_folder, changes, n_heads):
    config = json.loads((llama_folder / "config.json").read_text())
    config.update(changes)
    with tempfile.TemporaryDirectory(prefix="fuzz-config-") as folder:
        os.symlink(llama_folder / "model.safetensors", os.path.join(folder, "model.safetensors"))
        with open(os.path.join(folder, "config.json"), "w") as f:
            f.write(json.dumps(config).replace("Infinity", "1e400"))  # JSON's way to overflow a float
        _opens_or_refuses(folder, n_heads)


@FUZZ
@given(index=st.one_of(JUNK, st.dictionaries(st.sampled_from(["weight_map", "metadata"]), st.one_of(
    JUNK, st.dictionaries(st.text(max_size=8), st.one_of(JUNK, st.sampled_from(
        ["model.safetensors", "../model.safetensors", "/etc/passwd", "missing.safetensors", ""])), max_size=4)),
    max_size=2)))
def test_shard_index_with_any_contents(index):
    with tempfile.TemporaryDirectory(prefix="fuzz-index-") as folder:
        with open(os.path.join(folder, "model.safetensors"), "wb") as f:
            f.write(BASES[0])
        with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
            json.dump(index, f)
        _opens_or_refuses(folder)


TORCH_DTYPES = [torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int64, torch.int8, torch.uint8,
                torch.bool, torch.complex64]


@st.composite
def torch_tensors(draw):
    """A tensor, or a view with odd strides or offsets into a small storage, or an expanded (stride-0) one."""
    dtype = draw(st.sampled_from(TORCH_DTYPES))
    shape = draw(st.lists(st.integers(0, 5), max_size=4))
    base = torch.zeros(shape, dtype=dtype) if dtype in (torch.bool, torch.complex64) else \
        (torch.arange(math.prod(shape)) % 7).to(dtype).reshape(shape)
    kind = draw(st.sampled_from(["plain", "transposed", "sliced", "expanded", "strided"]))
    if kind == "transposed" and base.ndim >= 2:
        return base.transpose(0, -1)
    if kind == "sliced" and base.ndim >= 1 and base.shape[0] > 1:
        return base[1:]
    if kind == "expanded":
        return torch.zeros(1, dtype=dtype).expand(draw(st.sampled_from([1, 3, 2**20, 2**40])))
    if kind == "strided" and base.numel() > 0:
        flat = base.reshape(-1)
        size, stride = draw(st.sampled_from([0, 1, 2, 5, 2**33])), draw(st.integers(0, 2))
        try:
            return flat.as_strided((size,), (stride,), draw(st.integers(0, flat.numel() - 1)))
        except RuntimeError:  # torch refuses a view past its storage when it is made
            return base
    return base


@FUZZ
@given(tensors=st.dictionaries(st.sampled_from(["wte.weight", "h.0.attn.c_attn.weight", "h.0.ln_1.weight", "x"]),
                               torch_tensors(), min_size=1, max_size=4))
def test_torch_checkpoints_with_odd_shapes_strides_dtypes(tensors):
    with tempfile.TemporaryDirectory(prefix="fuzz-torch-") as folder:
        path = os.path.join(folder, "pytorch_model.bin")
        try:
            torch.save(tensors, path)
        except RuntimeError:  # torch itself refuses some views (a size past its storage)
            return
        tracemalloc.start()
        try:
            _opens_or_refuses(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < PEAK_BYTES
