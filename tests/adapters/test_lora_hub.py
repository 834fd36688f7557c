"""A LoRA adapter on the Hub (a repo of peft's two files naming its base by Hub id), against the loopback Hub:
it opens as its base with the adapter merged, the same numbers as the local folder; `adapter_folder` tells an
adapter from a model without downloading a model; offline it opens from the cache; hosted it is allowed."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from peft import LoraConfig

from adapters import LoadError, Policy, open_model
from adapters.sources import adapter_folder
from tests.adapters.test_lora import LLAMA, _make


@pytest.fixture(scope="module")
def lora_files(tmp_path_factory):
    """{repo path: bytes} of a tiny Llama (the base) and of its adapter naming 'owner/base', and the local adapter
    folder (its base named by path) with peft's merged state dict."""
    root = tmp_path_factory.mktemp("lora_hub")
    base, adapter, merged = _make(root, "llama", LLAMA, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "o_proj"]))
    read = lambda folder: {f: (folder / f).read_bytes() for f in os.listdir(folder)}  # noqa: E731
    on_hub = read(adapter)
    cfg = json.loads(on_hub["adapter_config.json"])
    on_hub["adapter_config.json"] = json.dumps({**cfg, "base_model_name_or_path": "owner/base"}).encode()
    return read(base), on_hub, adapter, merged


def test_a_hub_adapter_opens_as_its_base_merged(hub, lora_files):
    base_files, adapter_files, local, want = lora_files
    hub.add("owner/base", base_files)
    hub.add("owner/lora", adapter_files)
    model = open_model("owner/lora", policy=Policy())
    assert model.arch == "llama" and "+lora:" in model.identity
    for name in model.raw_names():
        np.testing.assert_allclose(model.raw(name), want[name], rtol=1e-5, atol=1e-6, err_msg=name)
    same = open_model(str(local))
    assert all(np.array_equal(same.raw(n), model.raw(n)) for n in same.raw_names())
    fetched = [p for p in hub.fetched() if p.startswith(("adapter_", "model", "config"))]
    assert sorted(fetched) == ["adapter_config.json", "adapter_model.safetensors", "config.json", "model.safetensors"]


def test_adapter_folder_tells_an_adapter_from_a_model_without_downloading_it(hub, lora_files):
    base_files, adapter_files, local, _ = lora_files
    hub.add("owner/base", base_files)
    hub.add("owner/lora", adapter_files)
    assert adapter_folder("owner/base", Policy()) is None
    assert not hub.fetched()  # a model is not downloaded to learn it is not an adapter
    folder = adapter_folder("owner/lora", Policy(hosted=True))  # a Hub id: allowed when hosted
    assert sorted(os.listdir(folder)) == ["adapter_config.json", "adapter_model.safetensors"]
    assert adapter_folder(str(local), Policy()) == str(local)
    with pytest.raises(LoadError, match="does not open files"):
        adapter_folder(str(local), Policy(hosted=True))


def test_a_hub_adapter_opens_offline_from_the_cache(hub, lora_files, monkeypatch):
    base_files, adapter_files, _, want = lora_files
    hub.add("owner/base", base_files)
    hub.add("owner/lora", adapter_files)
    online = open_model("owner/lora", policy=Policy())
    from huggingface_hub import constants
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    offline = open_model("owner/lora", policy=Policy())
    assert offline.identity == online.identity
    assert adapter_folder("owner/lora", Policy()) is not None and adapter_folder("owner/base", Policy()) is None


def test_an_adapter_whose_base_cannot_be_opened_says_so(hub, lora_files):
    _, adapter_files, _, _ = lora_files
    hub.add("owner/lora", adapter_files)  # owner/base is not on this Hub
    with pytest.raises(LoadError, match="base model 'owner/base'.*could not be opened: No model 'owner/base'"):
        open_model("owner/lora", policy=Policy())
