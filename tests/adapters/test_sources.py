"""Where the bytes come from: uploads, the offline Hugging Face cache, and the size limits."""
from __future__ import annotations

import gc
import io
import json
import os
import time

import numpy as np
import pytest

from adapters import LoadError, Policy, open_model
from adapters.sources import from_upload
from tests.adapters import craft

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class _Stream:
    """A file-like object with only read(): no getbuffer, no size."""

    def __init__(self, data: bytes, name: str = "stream.safetensors"):
        self._f, self.name = io.BytesIO(data), name

    def read(self, n=-1):
        return self._f.read(n)


# ---- uploads ------------------------------------------------------------------------------------
@pytest.mark.parametrize("wrap", [bytes, bytearray, io.BytesIO, _Stream])
def test_upload_reads_identical_tensors(wrap):
    arrays = craft.sample()
    model = open_model(wrap(craft.valid(arrays)))
    assert model.located.kind == "upload"
    for name, arr in arrays.items():
        np.testing.assert_array_equal(model.raw(name), arr.astype(np.float32))


def test_upload_identity_is_the_content():
    a, b = craft.sample(), craft.sample()
    b["a.weight"] = b["a.weight"] + 1  # same header and size, other numbers
    ids = [open_model(craft.valid(x)).identity for x in (a, a, b)]
    assert ids[0] == ids[1] != ids[2]


def test_upload_buffer_is_released():
    buf = io.BytesIO(craft.valid(craft.sample()))
    open_model(buf)
    buf.truncate(0)  # would raise BufferError while a view of it is still held
    buf.close()


def test_spooled_upload_is_removed_with_the_model(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    model = open_model(craft.valid(craft.sample()))
    path = model.located.files[0]
    assert os.path.dirname(os.path.dirname(path)) == str(tmp_path) and os.path.exists(path)
    del model
    gc.collect()
    assert not os.path.exists(path) and not os.path.exists(os.path.dirname(path))


def test_spooled_upload_is_removed_at_exit_even_if_still_held(tmp_path):
    import subprocess
    import sys
    code = (f"import tempfile; tempfile.tempdir = {str(tmp_path)!r}\n"
            "from adapters import open_model\nfrom tests.adapters import craft\n"
            "KEPT = open_model(craft.valid(craft.sample()))\nprint(KEPT.located.files[0])")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith(str(tmp_path)) and os.listdir(tmp_path) == []


@pytest.mark.parametrize("wrap", [bytes, _Stream])
def test_upload_over_the_limit_refused_before_parsing(tmp_path, monkeypatch, wrap):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    blob = b"not even safetensors" * 100  # a parse would say "not a safetensors file"
    with pytest.raises(LoadError, match=r"2\.0 kB; uploads up to 1\.0 kB.*WEIGHTS_MAX_MODEL_BYTES"):
        open_model(wrap(blob), policy=Policy(max_model_bytes=1000))
    assert os.listdir(tmp_path) == []  # nothing left on disk


def test_upload_of_a_broken_file_is_a_load_error():
    with pytest.raises(LoadError, match="truncated"):
        open_model(craft.valid(craft.sample())[:-3])
    with pytest.raises(LoadError, match="type int"):
        open_model(42)


def test_upload_named_bin_uses_the_safe_loader():
    import torch
    buf = io.BytesIO()
    torch.save({"w": torch.arange(6.0).reshape(2, 3)}, buf)
    buf.name = "pytorch_model.bin"
    model = open_model(buf)
    np.testing.assert_array_equal(model.raw("w"), np.arange(6.0, dtype=np.float32).reshape(2, 3))


# ---- the Hugging Face cache, offline -----------------------------------------------------------
@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """A Hugging Face cache in tmp holding owner/name (main -> COMMIT), used with HF_HUB_OFFLINE=1."""
    from huggingface_hub import constants
    root = tmp_path / "hub"
    base = root / "models--owner--name"
    snap = base / "snapshots" / COMMIT
    snap.mkdir(parents=True)
    (base / "refs").mkdir()
    (base / "refs" / "main").write_text(COMMIT)
    (snap / "config.json").write_text(json.dumps({"architectures": ["Tiny"]}))
    (snap / "model.safetensors").write_bytes(craft.valid(craft.sample()))
    monkeypatch.setenv("HF_HUB_CACHE", str(root))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(root))  # read once at import
    assert constants.is_offline_mode()
    return root


@pytest.mark.parametrize("source", ["owner/name", "owner/name@main", f"owner/name@{COMMIT}"])
def test_hub_id_from_the_offline_cache(hub_cache, source):
    model = open_model(source)
    assert model.located.kind == "hub" and model.identity == f"hub:owner/name@{COMMIT}"
    np.testing.assert_array_equal(model.raw("a.weight"), craft.sample()["a.weight"])


@pytest.mark.parametrize("source", ["owner/missing", "gpt2", "owner/name@no-such-branch"])
def test_hub_id_not_in_the_cache_is_a_quick_clear_error(hub_cache, source):
    start = time.monotonic()
    with pytest.raises(LoadError, match="not in the local Hugging Face cache.*offline"):
        open_model(source)
    assert time.monotonic() - start < 10


def test_local_model_over_the_limit(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(craft.valid(craft.sample()))
    with pytest.raises(LoadError, match=r"m\.safetensors is .* up to 100 bytes"):
        open_model(str(path), policy=Policy(max_model_bytes=100))


def test_from_upload_default_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("WEIGHTS_MAX_MODEL_BYTES", "1kB")
    with pytest.raises(LoadError, match="uploads up to 1.0 kB"):
        from_upload(bytes(5000))
