"""torch .bin checkpoints get the safetensors limits (tensor count, dims, elements, bytes a tensor reads as
against the bytes its storage holds), checked from metadata before any tensor is materialised."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from adapters import LoadError, open_model
from adapters import checkpoint as ckpt


def _saved(tmp_path, tensors: dict) -> str:
    path = tmp_path / "pytorch_model.bin"
    torch.save(tensors, path)
    return str(path)


@pytest.mark.parametrize("tensor,words", [
    (torch.zeros(1).expand(2**20), ["stride-0", "storage of 4"]),
    (torch.zeros(1).expand(2**40), ["4,398,046,511,104 bytes"]),
    (torch.zeros(1, 1).expand(4096, 4096), ["strides [0, 0]"]),
    (torch.zeros([1] * 40), ["40 dimensions"]),
    (torch.zeros(0, 2**30), ["larger than any real tensor"]),
    (torch.zeros(3, 3).to_sparse(), ["sparse"]),
    (torch.zeros(2, dtype=torch.complex64), ["unsupported dtype"]),
])
def test_refused_from_metadata(tmp_path, tensor, words):
    with pytest.raises(LoadError) as info:
        open_model(_saved(tmp_path, {"w": tensor}))
    for word in words:
        assert word in str(info.value), str(info.value)
    assert "pytorch_model.bin" in str(info.value) and "'w'" in str(info.value)


def test_too_many_tensors(tmp_path, monkeypatch):
    monkeypatch.setattr(ckpt, "MAX_TENSORS", 10)
    path = _saved(tmp_path, {f"t{i}": torch.zeros(1) for i in range(11)})
    with pytest.raises(LoadError, match="11 entries"):
        open_model(path)


def test_views_within_their_storage_read_exactly(tmp_path):
    base = torch.arange(64, dtype=torch.float32).reshape(8, 8)
    tensors = {"cols": base[:, :4], "rows": base[2:5], "t": base.T, "tied": base, "empty": torch.zeros(0, 8),
               "half": torch.randn(3, 5).to(torch.bfloat16)}
    model = open_model(_saved(tmp_path, tensors))
    for name, t in tensors.items():
        np.testing.assert_array_equal(model.raw(name), t.float().numpy())
