"""Files that are not what they claim: a FIFO named *.safetensors, links out of the folder, an oversized shard
index, duplicate header keys, an empty tensor with a huge dimension, a Hub listing without sizes, an upload's
errors (which name the uploaded file, not the server's copy). Each is refused with one clear LoadError, quickly."""
from __future__ import annotations

import json
import os
import threading
from types import SimpleNamespace

import numpy as np
import pytest

from adapters import LoadError, open_model
from adapters import sources
from adapters.hub import HubSource, plan, sizes_of
from tests.adapters import craft


def _folder(tmp_path, name: str = "model") -> str:
    folder = tmp_path / name
    folder.mkdir()
    return str(folder)


def _opens_within(source, seconds: float = 10):
    """open_model in a thread: a FIFO would block forever, so wait a bounded time."""
    outcome = {}

    def run():
        try:
            outcome["model"] = open_model(source)
        except Exception as e:  # noqa: BLE001 - the test looks at which kind it was
            outcome["error"] = e
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "opening blocked"
    return outcome


def test_fifo_named_safetensors_is_skipped(tmp_path):
    folder = _folder(tmp_path)
    os.mkfifo(os.path.join(folder, "a.safetensors"))
    outcome = _opens_within(folder)
    assert isinstance(outcome.get("error"), LoadError) and "No weights" in str(outcome["error"])
    (tmp_path / "model" / "b.safetensors").write_bytes(craft.valid(craft.sample()))
    outcome = _opens_within(folder)
    assert "model" in outcome and [os.path.basename(f) for f in outcome["model"].located.files] == ["b.safetensors"]


def test_fifo_as_the_model_file_or_shard(tmp_path):
    folder = _folder(tmp_path)
    os.mkfifo(os.path.join(folder, "model.safetensors"))
    assert isinstance(_opens_within(folder).get("error"), LoadError)
    fifo = str(tmp_path / "x.safetensors")
    os.mkfifo(fifo)
    assert "not a regular file" in str(_opens_within(fifo).get("error"))


@pytest.mark.parametrize("what", ["model.safetensors", "config.json", "model.safetensors.index.json", "shard"])
def test_links_out_of_the_folder_are_refused(tmp_path, what):
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = _folder(tmp_path)
    blob = craft.valid(craft.sample())
    (outside / "secret.safetensors").write_bytes(blob)
    (outside / "config.json").write_text("{}")
    if what == "model.safetensors":
        os.symlink(outside / "secret.safetensors", os.path.join(folder, "model.safetensors"))
    elif what == "config.json":
        (tmp_path / "model" / "model.safetensors").write_bytes(blob)
        os.symlink(outside / "config.json", os.path.join(folder, "config.json"))
    else:
        index = {"weight_map": {"a.weight": "model-1.safetensors"}}
        (outside / "index.json").write_text(json.dumps(index))
        if what == "shard":
            (tmp_path / "model" / "model.safetensors.index.json").write_text(json.dumps(index))
            os.symlink(outside / "secret.safetensors", os.path.join(folder, "model-1.safetensors"))
        else:
            os.symlink(outside / "index.json", os.path.join(folder, "model.safetensors.index.json"))
    with pytest.raises(LoadError, match="outside the folder"):
        open_model(folder)


def test_links_inside_the_folder_and_hub_snapshots_are_followed(tmp_path):
    repo = tmp_path / "models--owner--name"
    (repo / "blobs").mkdir(parents=True)
    snapshot = repo / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    (repo / "blobs" / "123").write_bytes(craft.valid(craft.sample()))
    os.symlink("../../blobs/123", snapshot / "model.safetensors")
    assert open_model(str(snapshot)).raw_names() == ["a.weight", "b.bias", "c.weight"]


def test_shard_index_over_the_cap_is_not_parsed(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MAX_INDEX_BYTES", 1000)
    folder = _folder(tmp_path)
    weight_map = {f"t{i}": "model-1.safetensors" for i in range(100)}
    (tmp_path / "model" / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    with pytest.raises(LoadError, match="larger than any real shard index"):
        open_model(folder)


@pytest.mark.parametrize("header", [
    b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], '
    b'"data_offsets": [0, 4]}}',
    b'{"w": {"dtype": "F32", "dtype": "F16", "shape": [1], "data_offsets": [0, 4]}}',
])
def test_duplicate_header_keys_are_refused(tmp_path, header):
    path = tmp_path / "model.safetensors"
    path.write_bytes(craft.pack(header, bytes(4)))
    with pytest.raises(LoadError, match="twice"):
        open_model(str(path))


@pytest.mark.parametrize("shape,opens", [([0, 2**30], False), ([2**39, 0], False), ([0, 4096], True), ([0], True)])
def test_empty_tensor_with_a_huge_dimension(tmp_path, shape, opens):
    path = tmp_path / "model.safetensors"
    path.write_bytes(craft.pack({"w": {"dtype": "F32", "shape": shape, "data_offsets": [0, 0]}}))
    if opens:
        assert open_model(str(path)).raw("w").shape == tuple(shape)
    else:
        with pytest.raises(LoadError, match="larger than any real tensor"):
            open_model(str(path))


def test_hub_listing_without_a_size_is_refused():
    info = SimpleNamespace(siblings=[SimpleNamespace(rfilename="config.json", size=10, lfs=None),
                                     SimpleNamespace(rfilename="model.safetensors", size=None, lfs=None)])
    with pytest.raises(LoadError, match="does not say how large model.safetensors is"):
        plan(sizes_of(info), HubSource("o/n"), None)


@pytest.mark.parametrize("blob,words", [(b"#!/bin/sh\n" * 20, "not a safetensors file"),
                                        (craft.valid(craft.sample())[:100], "truncated")])
def test_upload_errors_name_the_uploaded_file(blob, words):
    upload = SimpleNamespace(name="my weights.safetensors", getbuffer=lambda: memoryview(blob), size=len(blob))
    with pytest.raises(LoadError) as info:
        open_model(upload)
    message = str(info.value)
    assert "my weights.safetensors" in message and words in message and "weights-" not in message, message


@pytest.mark.parametrize("name", ["..", ".", "../../etc/passwd", "a\x00b.safetensors", "x" * 500 + ".safetensors"])
def test_odd_upload_names_are_spooled_safely(name):
    model = open_model(SimpleNamespace(name=name, getbuffer=lambda: memoryview(craft.valid(craft.sample())),
                                       size=None))
    assert np.asarray(model.raw("a.weight")).shape == (4, 6)
