"""Scales that do not fit their weight, MXFP4 blocks without their scales, absurd block sizes in config.json: each
one clear LoadError; NaN and Inf scales are read (as NaN and Inf values) and reported, not a crash. Then fuzzed:
any weight / scale / blocks shapes and dtypes and any declared block size open and read, or raise LoadError."""
import json
import os
import tempfile
import tracemalloc

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from adapters import LoadError, open_model
from adapters.checkpoint import Checkpoint
from tests.adapters import craft
from topics.health import first_nonfinite
from topics.scan import tensor_scan

FP8 = torch.float8_e4m3fn


def _open(tmp_path, tensors: dict, config: dict | None = None) -> Checkpoint:
    save_file(tensors, str(tmp_path / "m.safetensors"))
    return Checkpoint([str(tmp_path / "m.safetensors")], config)


def _weight(rows=48, cols=40):
    torch.manual_seed(0)
    return (torch.randn(rows, cols) * 30).to(FP8)


@pytest.mark.parametrize("scale, words", [
    (torch.ones(5), "does not fit it"),  # neither one, one per row, nor a grid
    (torch.ones(48, 40, 1), "does not fit it"),  # one dim too many
    (torch.ones(5, 3), "does not fit it"),  # a grid that tiles neither as declared nor exactly
    (torch.ones(48, dtype=torch.int32), "is I32; scales are stored as"),
    (torch.ones(1).to(FP8), "is F8_E4M3; scales are stored as"),
])
def test_scale_that_does_not_fit_its_weight(tmp_path, scale, words):
    with pytest.raises(LoadError, match=words):
        _open(tmp_path, {"x.weight": _weight(), "x.weight_scale_inv": scale})


def test_both_kinds_of_scale_is_ambiguous(tmp_path):
    with pytest.raises(LoadError, match="both a scale_inv and a scale"):
        _open(tmp_path, {"x.weight": _weight(), "x.weight_scale_inv": torch.ones(1), "x.weight_scale": torch.ones(1)})


def test_scaled_1d_weight_takes_one_scale_only(tmp_path):
    with pytest.raises(LoadError, match="1-D weight takes one scale"):
        _open(tmp_path, {"x.weight": torch.ones(8).to(FP8), "x.weight_scale": torch.ones(8)})


@pytest.mark.parametrize("tensors, words", [
    ({"e.down_blocks": torch.zeros(2, 4, 1, 16, dtype=torch.uint8)}, "have no 'e.down_scales' beside them"),
    ({"e.down_blocks": torch.zeros(2, 4, 1, 16, dtype=torch.uint8),
      "e.down_scales": torch.zeros(2, 4, 2, dtype=torch.uint8)}, r"not U8 \[2, 4, 1\]"),
    ({"e.down_blocks": torch.zeros(2, 4, 1, 16, dtype=torch.uint8),
      "e.down_scales": torch.zeros(2, 4, 1)}, "are F32"),
    ({"e.down_blocks": torch.zeros(2, 4, 1, 8, dtype=torch.uint8),
      "e.down_scales": torch.zeros(2, 4, 1, dtype=torch.uint8)}, "MXFP4 blocks are"),
    ({"e.down_blocks": torch.zeros(4, 16, dtype=torch.uint8),
      "e.down_scales": torch.zeros(4, dtype=torch.uint8)}, "MXFP4 blocks are"),
    ({"e.down_blocks": torch.zeros(4, 1, 16, dtype=torch.uint8), "e.down_scales": torch.zeros(4, 1, dtype=torch.uint8),
      "e.down": torch.zeros(3)}, "which is stored as well"),
])
def test_mxfp4_blocks_without_fitting_scales(tmp_path, tensors, words):
    with pytest.raises(LoadError, match=words):
        _open(tmp_path, tensors)


@pytest.mark.parametrize("block", [[0, 128], [128], [128, -1], "128", [128.0, 128], [2**40, 1], [[1], [2]], True])
def test_absurd_block_size_in_config(tmp_path, block):
    tensors = {"x.weight": _weight(), "x.weight_scale_inv": torch.ones(1, 1)}
    save_file(tensors, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps({"quantization_config": {"quant_method": "fp8",
                                                                               "weight_block_size": block}}))
    with pytest.raises(LoadError, match="weight_block_size is .*not two block sizes"):
        open_model(str(tmp_path))


def test_nan_and_inf_scales_are_reported_not_raised(tmp_path):
    scale = torch.ones(2, 2)
    scale[0, 1], scale[1, 0] = float("nan"), float("inf")
    ckpt = _open(tmp_path, {"x.weight": _weight(64, 64), "x.weight_scale_inv": scale}, {"quantization_config": {
        "weight_block_size": [32, 32]}})
    values = ckpt.read("x.weight")
    q = _weight(64, 64).float().numpy()
    assert np.isnan(values[:32, 32:]).all()
    assert (np.isinf(values[32:, :32]) == (q[32:, :32] != 0)).all()  # 0 * inf is NaN, as in torch
    bad = first_nonfinite(ckpt, "x.weight")
    assert (bad.nan, bad.inf) == (32 * 32 + int((q[32:, :32] == 0).sum()), int((q[32:, :32] != 0).sum()))
    assert bad.first == (0, 32)
    stats = tensor_scan(ckpt, "x.weight", compiled=True)  # the scan's decoded path, never the raw fp8 bits
    assert (stats.nan, stats.inf) == (bad.nan, bad.inf) and stats.dtype == "F8_E4M3"


def test_scan_statistics_of_a_scaled_weight_are_of_its_values(tmp_path):
    torch.manual_seed(5)
    q = (torch.randn(64, 96) * 30).to(FP8)
    scale = torch.rand(2, 3) * 1e-3
    ckpt = _open(tmp_path, {"x.weight": q, "x.weight_scale_inv": scale}, {"quantization_config": {
        "weight_block_size": [32, 32]}})
    values = ckpt.read("x.weight").astype(np.float64)
    for compiled in (False, True):
        stats = tensor_scan(ckpt, "x.weight", chunk_elems=1000, compiled=compiled)
        assert stats.count == values.size and (stats.min, stats.max) == (values.min(), values.max())
        np.testing.assert_allclose((stats.mean, stats.std), (values.mean(), values.std()), rtol=1e-5)


# ---- fuzzed: shapes, dtypes and block sizes of quantized entries -------------------------------------------
def _blob(entries: list[tuple[str, str, list[int]]], rng) -> bytes:
    header, data = {}, b""
    for name, dtype, shape in entries:
        blob = rng.integers(0, 256, int(np.prod(shape, dtype=np.int64)) * craft.ITEMSIZE[dtype], dtype=np.uint8)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + blob.size]}
        data += blob.tobytes()
    return craft.pack(header, data)


def _pick(rng, options: list):
    return options[rng.integers(len(options))]


def _layout(rng) -> tuple[list, dict | None]:
    """Entries (name, dtype, shape) of one quantized weight, mostly near a valid layout, and a config.json."""
    dims = lambda n: [int(d) for d in rng.integers(0 if rng.random() < 0.1 else 1, 8, n)]
    if rng.random() < 0.5:  # FP8 + a scale
        shape = dims(rng.integers(1, 4))
        grid = shape[:-2] + [-(-d // int(b)) for d, b in zip(shape[-2:], rng.integers(1, 4, 2))]
        scale_shape = _pick(rng, [[], [1], shape[:-1], shape[:-1] + [1], shape[:-2], grid, grid, grid[:-1] + [9],
                                  dims(rng.integers(0, 4))])
        entries = [("x.weight", _pick(rng, ["F8_E4M3", "F8_E5M2", "F8_E4M3", "U8"]), shape),
                   (_pick(rng, ["x.weight_scale_inv", "x.weight_scale"]),
                    _pick(rng, ["F32", "BF16", "U8", "F16", _pick(rng, list(craft.ITEMSIZE))]), scale_shape)]
    else:  # MXFP4 blocks + scales
        groups = dims(rng.integers(2, 4)) + [16 if rng.random() < 0.8 else int(rng.integers(1, 20))]
        entries = [("e.up_blocks", "U8" if rng.random() < 0.9 else "I8", groups)]
        if rng.random() < 0.9:
            entries.append(("e.up_scales", "U8" if rng.random() < 0.9 else "F32",
                            groups[:-1] if rng.random() < 0.8 else dims(rng.integers(0, 4))))
    block = _pick(rng, [None, [int(b) for b in rng.integers(1, 5, 2)], [2**20, 1], [1, 2**20]])
    block = _pick(rng, [[2**21, 2], [0, 1], [1], "x", [1.5, 2]]) if rng.random() < 0.1 else block
    return entries, (None if block is None else {"quantization_config": {"weight_block_size": block}})


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")), deadline=2000, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_any_quantized_layout_opens_and_reads_or_is_refused(seed):
    rng = np.random.default_rng(seed)
    entries, config = _layout(rng)
    blob = _blob(entries, rng)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.safetensors")
        with open(path, "wb") as f:
            f.write(blob)
        tracemalloc.start()
        try:
            try:
                ckpt = Checkpoint([path], config)
            except LoadError as e:
                event(f"refused: {str(e).split(':')[-1][:30]}")
                return
            for name, e in ckpt.entries.items():
                event(f"opened: {e.stored}{' with scales' if e.quant else ''}")
                values = ckpt.read(name)
                assert values.dtype == np.float32 and values.shape == e.shape
                if e.numel and e.shape:
                    np.testing.assert_array_equal(ckpt.read_rows(name, e.shape[0] - 1, e.shape[0]), values[-1:])
                if e.numel:
                    np.testing.assert_array_equal(np.concatenate([c.copy() for c in ckpt.iter_chunks(name, 7)]),
                                                  values.reshape(-1))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 32 << 20
