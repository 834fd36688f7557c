"""A Hub that accepts the connection and then says nothing: opening a model ends in a clear message (or the cached
copy) within the timeouts, never a hang. Against the loopback Hub (tests/hub_server.py)."""
from __future__ import annotations

import time

import pytest

from adapters import LoadError, Policy, open_model
from adapters import hub as hub_module


@pytest.fixture
def short_timeouts(monkeypatch):
    from huggingface_hub import constants
    monkeypatch.setattr(hub_module, "INFO_TIMEOUT_S", 1.0)
    monkeypatch.setattr(constants, "HF_HUB_DOWNLOAD_TIMEOUT", 1, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_ETAG_TIMEOUT", 1, raising=False)


def test_a_silent_hub_opens_the_cached_copy(hub, gpt2_files, short_timeouts):
    _, single = gpt2_files
    hub.add("owner/name", single)
    open_model("owner/name", policy=Policy())
    hub.stall_api = True
    start = time.perf_counter()
    model = open_model("owner/name", policy=Policy())
    assert time.perf_counter() - start < 15
    assert model.located.notice.startswith("the Hub could not be reached")


def test_a_silent_hub_with_nothing_cached_is_a_message(hub, short_timeouts):
    hub.stall_api = True
    start = time.perf_counter()
    with pytest.raises(LoadError, match="the Hub could not be reached"):
        open_model("owner/name", policy=Policy())
    assert time.perf_counter() - start < 15


def test_a_download_that_goes_silent_mid_file_is_a_message(hub, gpt2_files, short_timeouts):
    _, single = gpt2_files
    hub.add("owner/name", single)
    hub.stall_after["model.safetensors"] = 1000  # every try: 1000 bytes, then nothing
    start = time.perf_counter()
    with pytest.raises(LoadError, match="Could not download owner/name"):
        open_model("owner/name", policy=Policy())
    assert time.perf_counter() - start < 60
