"""Bad checkpoints give one clear LoadError (what is wrong, what to do); good ones read back exactly."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from adapters import LoadError, open_model
from tests.adapters import craft


def _write(tmp_path, blob: bytes, name: str = "model.safetensors") -> str:
    path = tmp_path / name
    path.write_bytes(blob)
    return str(path)


def _refused(source, *words: str) -> str:
    """open_model(source) raises LoadError whose message holds every word (case-insensitive)."""
    with pytest.raises(LoadError) as info:
        model = open_model(source)
        for name in model.raw_names():  # a lazily found problem counts too
            model.raw(name)
    message = str(info.value)
    for word in words:
        assert word.lower() in message.lower(), message
    return message


# ---- not there, not safetensors -------------------------------------------------------------
def test_missing_path(tmp_path):
    _refused(str(tmp_path / "nope.safetensors"), "does not exist")
    _refused(str(tmp_path / "no" / "folder"), "does not exist")


def test_empty_file(tmp_path):
    _refused(_write(tmp_path, b""), "empty")


def test_text_file(tmp_path):
    _refused(_write(tmp_path, b"This is a README, not weights.\n" * 20), "not a safetensors file")


def test_random_bytes(tmp_path):
    blob = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    _refused(_write(tmp_path, blob), "not a safetensors file")


# ---- broken safetensors -------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["length", "header", "data", "last byte"])
def test_truncated_anywhere(tmp_path, where):
    blob = craft.valid(craft.sample())
    n = craft.header_length(blob)
    cut = {"length": 5, "header": 8 + n // 2, "data": 8 + n + 10, "last byte": len(blob) - 1}[where]
    _refused(_write(tmp_path, blob[:cut]), "truncated" if where != "length" else "shorter than")


def test_header_length_past_end(tmp_path):
    blob = craft.valid(craft.sample())
    bad = (len(blob) + 100).to_bytes(8, "little") + blob[8:]
    _refused(_write(tmp_path, bad), "truncated", "header needs")


def test_header_length_absurd(tmp_path):
    bad = (2**63).to_bytes(8, "little") + b"{}" * 10
    _refused(_write(tmp_path, bad), "not a safetensors file")


@pytest.mark.parametrize("header", [b"{not json", b"\xff\xfe{}", b"[1, 2, 3]", b'"text"',
                                    b"[" * 100_000 + b"]" * 100_000, b'{"x": ' + b"9" * 5000 + b"}"])
def test_invalid_json_header(tmp_path, header):
    _refused(_write(tmp_path, craft.pack(header)), "header")


def _one(dtype="F32", shape=(2, 2), offsets=(0, 16), data=bytes(16)) -> bytes:
    return craft.pack({"w": {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}}, data)


@pytest.mark.parametrize("offsets", [(0, 32), (8, 24), (-4, 12), (16, 0)])
def test_offsets_out_of_range(tmp_path, offsets):
    _refused(_write(tmp_path, _one(offsets=offsets)), "outside the file")


def test_overlapping_offsets(tmp_path):
    header = {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
              "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}
    _refused(_write(tmp_path, craft.pack(header, bytes(24))), "overlap")


@pytest.mark.parametrize("shape", [(3, 2), (2,), (2, 2, 2)])
def test_byte_count_not_matching_shape(tmp_path, shape):
    _refused(_write(tmp_path, _one(shape=shape)), "do not hold shape")


@pytest.mark.parametrize("shape", [(2**40, 2**40), (0, 2**62, 2**62), (2**70,), (1,) * 100])
def test_absurd_shapes(tmp_path, shape):
    _refused(_write(tmp_path, _one(shape=shape, offsets=(0, 0), data=b"")), "shape")


@pytest.mark.parametrize("bad", [{"dtype": "F8_E8M0"}, {"dtype": "C64"}, {"dtype": ["F32"]}, {"dtype": None},
                                 {"shape": "2x2"}, {"shape": [2, -2]}, {"shape": [2.0, 2]}, {"shape": [True, 4]},
                                 {"data_offsets": [0]}, {"data_offsets": "0-16"}, {"data_offsets": [0.0, 16]}])
def test_wrong_field_types(tmp_path, bad):
    entry = {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16], **bad}
    message = _refused(_write(tmp_path, craft.pack({"w": entry}, bytes(16))), "tensor 'w'")
    if "dtype" in bad:
        assert "unsupported dtype" in message and "F32" in message  # and it says which ones are supported


def test_too_many_tensors(tmp_path, monkeypatch):
    from adapters import checkpoint
    monkeypatch.setattr(checkpoint, "MAX_TENSORS", 10)
    header = {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(11)}
    _refused(_write(tmp_path, craft.pack(header)), "11 tensors")


def test_header_over_the_limit(tmp_path, monkeypatch):
    from adapters import checkpoint
    monkeypatch.setattr(checkpoint, "MAX_HEADER_BYTES", 64)
    _refused(_write(tmp_path, craft.valid(craft.sample())), "limit 64")


def test_no_tensors(tmp_path):
    _refused(_write(tmp_path, craft.pack({"__metadata__": {"format": "pt"}})), "holds no tensors")


# ---- pickles: only torch's weights_only loader, and it never runs code -----------------------
class _MakeFile:
    """Unpickling this would create `path` (via os.system or open)."""

    def __init__(self, path: str, how: str):
        self.path, self.how = path, how

    def __reduce__(self):
        if self.how == "system":
            return os.system, (f"touch {self.path}",)
        return open, (self.path, "w")


@pytest.mark.parametrize("how", ["system", "open"])
@pytest.mark.parametrize("saver", ["torch.save", "pickle.dump"])
@pytest.mark.parametrize("layout", ["file", "folder"])
def test_malicious_pickle_never_runs(tmp_path, how, saver, layout):
    marker = tmp_path / "pwned"
    state = {"w": torch.zeros(2), "payload": _MakeFile(str(marker), how)}
    folder = tmp_path / "ckpt"
    folder.mkdir()
    path = folder / ("pytorch_model.bin" if layout == "folder" else "weights.bin")
    if saver == "torch.save":
        torch.save(state, path)
    else:
        with open(path, "wb") as f:
            pickle.dump(state, f)
    _refused(str(folder if layout == "folder" else path), "weights_only", "safetensors")
    assert not marker.exists()


def test_pickle_with_a_custom_class_is_refused(tmp_path):
    import argparse
    path = tmp_path / "pytorch_model.bin"
    torch.save({"w": torch.zeros(2), "args": argparse.Namespace(lr=1)}, path)
    _refused(str(path), "could not be loaded safely")


def test_pickle_named_safetensors(tmp_path):
    path = tmp_path / "model.safetensors"
    torch.save({"w": torch.zeros(2)}, path)
    _refused(str(path), "pickle")


def test_plain_tensor_bin_opens(tmp_path):
    from tests.adapters.harness import build
    hf, _ = build("gpt2", tmp_path / "src", n_embd=16, n_layer=1, n_head=2, vocab_size=20, n_positions=8)
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "config.json").write_text((tmp_path / "src" / "config.json").read_text())
    state = hf.state_dict()
    torch.save(state, folder / "pytorch_model.bin")
    model = open_model(str(folder))
    assert model.arch == "gpt2" and model.located.is_torch
    for name in model.raw_names():
        np.testing.assert_array_equal(model.raw(name), state[name].float().numpy())
    assert model.has("blocks.0.attn.W_Q")


def test_unsupported_dtype_in_bin(tmp_path):
    path = tmp_path / "pytorch_model.bin"
    torch.save({"w": torch.zeros(2, dtype=torch.complex64)}, path)
    _refused(str(path), "unsupported dtype")


# ---- good files read back exactly ---------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64,
                                   torch.float8_e4m3fn, torch.float8_e5m2, torch.int8, torch.int64])
def test_dtypes_read_back_like_torch(tmp_path, dtype):
    torch.manual_seed(0)
    t = (torch.randn(5, 7) * 4).to(dtype)
    save_file({"t": t}, str(tmp_path / "m.safetensors"))
    got = open_model(str(tmp_path / "m.safetensors")).raw("t")
    assert got.dtype == np.float32 and got.shape == (5, 7)
    np.testing.assert_array_equal(got, t.to(torch.float32).numpy())


@pytest.mark.parametrize("dtype", [torch.float8_e4m3fn, torch.float8_e5m2])
def test_every_fp8_bit_pattern_like_torch(tmp_path, dtype):
    t = torch.arange(256, dtype=torch.uint8).view(dtype)
    save_file({"t": t}, str(tmp_path / "m.safetensors"))
    got = open_model(str(tmp_path / "m.safetensors")).raw("t")
    np.testing.assert_array_equal(got, t.to(torch.float32).numpy())  # NaN == NaN here


def test_nan_and_inf_are_loaded_not_hidden(tmp_path):
    t = torch.tensor([[1.0, float("nan")], [float("inf"), -float("inf")]])
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        save_file({"t": t.to(dtype)}, str(tmp_path / "m.safetensors"))
        got = open_model(str(tmp_path / "m.safetensors")).raw("t")
        assert np.isnan(got[0, 1]) and got[1, 0] == np.inf and got[1, 1] == -np.inf and got[0, 0] == 1


def test_bool_bytes_other_than_one_are_true(tmp_path):
    header = {"b": {"dtype": "BOOL", "shape": [4], "data_offsets": [0, 4]}}
    model = open_model(_write(tmp_path, craft.pack(header, bytes([0, 1, 2, 255]))))
    np.testing.assert_array_equal(model.raw("b"), [0, 1, 1, 1])


def test_zero_size_tensor(tmp_path):
    header = {"empty": {"dtype": "F32", "shape": [0, 5], "data_offsets": [0, 0]},
              "one": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}}
    model = open_model(_write(tmp_path, craft.pack(header, np.float32(2.5).tobytes())))
    assert model.raw("empty").shape == (0, 5) and model.raw("one") == 2.5


def test_header_of_128_bytes_is_not_mistaken_for_a_pickle(tmp_path):
    """A length whose first byte is 0x80 (the pickle marker) is an ordinary safetensors header."""
    for size in (128, 640):
        header = {"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}
        raw = craft.pack(header)[8:]
        raw += b" " * (size - len(raw))
        model = open_model(_write(tmp_path, craft.pack(raw, np.float32(7).tobytes())))
        assert model.raw("w")[0] == 7


def test_sharded_folder_opens(tmp_path):
    from tests.adapters.harness import build
    hf, _ = build("gpt2", tmp_path, n_embd=32, n_layer=2, n_head=2, vocab_size=50, n_positions=16)
    hf.save_pretrained(tmp_path, max_shard_size="20KB")
    assert (tmp_path / "model.safetensors.index.json").exists()
    model = open_model(str(tmp_path))
    assert len(model.located.files) > 1
    state = hf.state_dict()
    for name in model.raw_names():
        np.testing.assert_array_equal(model.raw(name), state[name].numpy())


def test_shard_index_pointing_outside_the_folder(tmp_path):
    (tmp_path / "model.safetensors.index.json").write_text('{"weight_map": {"w": "../../etc/passwd"}}')
    _refused(str(tmp_path), "not in the folder")
    (tmp_path / "model.safetensors.index.json").write_text('{"weight_map": {"w": 3}}')
    _refused(str(tmp_path), "not a valid shard index")
