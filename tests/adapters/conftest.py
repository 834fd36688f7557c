"""Fixtures of the Hub tests (test_hub.py, test_hub_stalls.py): a loopback Hub the client is pointed at, and a
tiny real GPT-2's files to put in it."""
from __future__ import annotations

import os

import pytest

from tests.hub_server import LoopbackHub, point_client_at


@pytest.fixture(scope="module")
def gpt2_files(tmp_path_factory):
    """A tiny real GPT-2 saved by transformers: {name: bytes} sharded (with its index), and its single file."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.manual_seed(0)
    cfg = AutoConfig.for_model("gpt2", n_layer=2, n_embd=32, n_head=4, n_positions=16, vocab_size=64)
    model = AutoModelForCausalLM.from_config(cfg)
    sharded, single = tmp_path_factory.mktemp("sharded"), tmp_path_factory.mktemp("single")
    model.save_pretrained(sharded, max_shard_size="20KB")
    model.save_pretrained(single)
    read = lambda folder: {f: (folder / f).read_bytes() for f in os.listdir(folder)}  # noqa: E731
    return read(sharded), read(single)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    server = LoopbackHub().start()
    point_client_at(server, monkeypatch, tmp_path / "hub-cache")
    yield server
    server.stop()
