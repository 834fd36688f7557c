"""compressed-tensors integer checkpoints that are incomplete, contradict their config.json, or use a format this
reader does not take: each one clear LoadError naming what is wrong; a NaN scale is read and reported. Then fuzzed:
any packed or int8 weight, shape, scale and zero point tensors and any config open and read, or raise LoadError."""
import json
import os
import tempfile

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


def _config(fmt="pack-quantized", **weights) -> dict:
    args = {"num_bits": 4, "type": "int", "strategy": "group", "group_size": 32, "symmetric": True} | weights
    return {"quantization_config": {"quant_method": "compressed-tensors", "format": fmt, "config_groups": {
        "group_0": {"targets": ["Linear"], "weights": args, "format": fmt}}}}


def _packed(rows=8, cols=64, bits=4, scale_cols=2, **extra) -> dict:
    """x.weight packed [rows, cols] of `bits`, zeros (stored 2^(bits-1)), and its scales."""
    words = torch.full((rows, -(-cols * bits // 32)), 0x88888888 - (1 << 32) if bits == 4 else 0, dtype=torch.int32)
    return {"x.weight_packed": words, "x.weight_shape": torch.tensor([rows, cols]),
            "x.weight_scale": torch.ones(rows, scale_cols)} | extra


def _open(tmp_path, tensors: dict, config: dict | None):
    save_file({k: v for k, v in tensors.items() if v is not None}, str(tmp_path / "model.safetensors"))
    return Checkpoint([str(tmp_path / "model.safetensors")], config)


@pytest.mark.parametrize("tensors, config, words", [
    (_packed(**{"x.weight_scale": None}), _config(), r"no 'x.weight_scale' beside it"),
    (_packed(**{"x.weight_shape": None}), _config(), r"no 'x.weight_shape' beside it"),
    (_packed(**{"x.weight_shape": torch.tensor([8, 96])}), _config(), r"says \[8, 96\], which packs 4-bit values "
                                                                      r"into \[8, 12\] words, not \[8, 8\]"),
    (_packed(**{"x.weight_shape": torch.tensor([8.0, 64.0])}), _config(), "not two integers"),
    (_packed(), _config(group_size=48), "group size of 48 does not divide its 64 input columns"),
    (_packed(), _config(num_bits=16), "num_bits is 16; integer weights of 1 to 8 bits"),
    (_packed(), _config(num_bits=3), "packs 3-bit values differently"),
    (_packed(), _config(strategy="channel"), r"its scale 'x.weight_scale' is \[8, 2\] but config_groups\['group_0'\]"
                                             r": 4 bits, channel \(a channel layout needs \[8, 1\]\)"),
    (_packed(), _config(group_size=16), r"is \[8, 2\] but .*group 16 \(a group layout needs \[8, 4\]\)"),
    (_packed(), _config(symmetric=False), "has no zero point 'x.weight_zero_point' but .*asymmetric"),
    (_packed(**{"x.weight_zero_point": torch.zeros(1, 2, dtype=torch.int32)}), _config(),
     "has a zero point .*symmetric"),
    (_packed(**{"x.weight_zero_point": torch.zeros(3, 2, dtype=torch.int32)}), _config(symmetric=False),
     r"fitting neither its scale \[8, 2\] nor a packed \[1, 2\]"),
    (_packed(**{"x.weight_g_idx": torch.zeros(64, dtype=torch.int32)}), _config(), "activation-ordered groups"),
    (_packed(**{"x.weight_scale": torch.ones(8, 2, dtype=torch.int32)}), _config(), "is I32; scales are stored as"),
    (_packed(), _config(fmt="int-quantized"), "declares no pack-quantized integer group for it"),
    ({"x.weight": torch.zeros(8, 64, dtype=torch.int8)}, _config(fmt="int-quantized", num_bits=8),
     r"no 'x.weight_scale' beside it"),  # not int8 values shown as they are
    (_packed(rows=8, cols=64, bits=4, **{"x.weight_packed": torch.zeros(8, 3, dtype=torch.int32)}), None,
     "fit no one packed width"),
])
def test_refused_with_what_is_wrong(tmp_path, tensors, config, words):
    with pytest.raises(LoadError, match=words):
        _open(tmp_path, tensors, config)


@pytest.mark.parametrize("fmt", ["marlin-24", "sparse-24-bitmask", "nvfp4-pack-quantized", "mxfp4-pack-quantized",
                                 "some-new-format"])
def test_unsupported_format_is_named(tmp_path, fmt):
    save_file(_packed(), str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps(_config(fmt=fmt)))
    with pytest.raises(LoadError, match=f"compressed-tensors format '{fmt}' is not supported"):
        open_model(str(tmp_path))


def test_nan_scale_is_reported_not_raised(tmp_path):
    scale = torch.ones(8, 2)
    scale[2, 1] = float("nan")
    ckpt = _open(tmp_path, _packed(**{"x.weight_scale": scale}), _config())
    values = ckpt.read("x.weight")  # every stored value is 0: 0 * NaN is NaN
    assert np.isnan(values[2, 32:]).all() and np.isfinite(np.delete(values, 2, axis=0)).all()
    bad = first_nonfinite(ckpt, "x.weight")
    assert (bad.nan, bad.inf, bad.first) == (32, 0, (2, 32))
    stats = tensor_scan(ckpt, "x.weight", compiled=True)  # the scan's decoded path, never the raw words
    assert (stats.nan, stats.inf, stats.dtype) == (32, 0, "INT4")


def test_block_strategy_with_a_ragged_edge(tmp_path):
    """int8 in 32x32 blocks over a [40, 48] weight: a 2 x 2 grid whose last blocks are short."""
    torch.manual_seed(0)
    q = torch.randint(-128, 128, (40, 48), dtype=torch.int8)
    scale = torch.rand(2, 2) + 0.1
    config = _config(fmt="int-quantized", num_bits=8, strategy="block", block_structure=[32, 32], group_size=None)
    ckpt = _open(tmp_path, {"x.weight": q, "x.weight_scale": scale}, config)
    want = (q.float() * scale.repeat_interleave(32, 0)[:40].repeat_interleave(32, 1)[:, :48]).numpy()
    np.testing.assert_array_equal(ckpt.read("x.weight"), want)
    np.testing.assert_array_equal(ckpt.read_rows("x.weight", 30, 35), want[30:35])
    assert ckpt.entries["x.weight"].stored == "INT8 (int-quantized, 32x32 blocks)"


# ---- fuzzed: shapes, dtypes and configs of integer weights --------------------------------------------------
def _fuzzed(rng) -> tuple[bytes, dict | None]:
    """One integer weight's tensors, mostly near a valid layout (random bytes as values), and a config.json."""
    rows, cols, bits = int(rng.integers(1, 40)), int(rng.integers(1, 80)), int(rng.choice([1, 2, 4, 4, 8, 8, 3, 16]))
    groups = int(rng.choice([1, 2, 3, 4, cols]))
    scale_shape = [rows, groups] if rng.random() < 0.8 else [int(d) for d in rng.integers(0, 5, rng.integers(0, 3))]
    header, data = {}, b""

    def add(name, dtype, shape, blob=None):
        nonlocal data
        size = int(np.prod(shape, dtype=np.int64)) * craft.ITEMSIZE[dtype]
        blob = rng.integers(0, 256, size, dtype=np.uint8).tobytes() if blob is None else blob
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob

    if rng.random() < 0.6:  # pack-quantized
        fmt = "pack-quantized"
        add("x.weight_packed", "I32", [rows, -(-cols * max(bits, 1) // 32) + int(rng.random() < 0.1)])
        if rng.random() < 0.9:
            shape = [rows, cols] if rng.random() < 0.9 else [int(d) for d in rng.integers(-5, 2**40, 2)]
            add("x.weight_shape", "I64", [2], np.array(shape, dtype="<i8").tobytes())
    else:
        fmt = "int-quantized"
        add("x.weight", "I8", [rows, cols])
    if rng.random() < 0.95:
        add("x.weight_scale", _pick(rng, ["F32", "BF16", "F16", "I8"]), scale_shape)
    asymmetric = rng.random() < 0.4
    if asymmetric == (rng.random() < 0.9):
        zero = [-(-rows * max(bits, 1) // 32), groups] if rng.random() < 0.5 else scale_shape
        add("x.weight_zero_point", _pick(rng, ["I32", "I8", "F32"]), zero)
    strategy = _pick(rng, ["group", "group", "channel", "channel", "tensor", "block", "token"])
    weights = {"num_bits": bits, "type": "int", "strategy": strategy, "symmetric": not asymmetric,
               "group_size": _pick(rng, [cols // groups, cols // groups, 32, 0, None]),
               "block_structure": _pick(rng, [[8, 8], [1, 2**20], None, [0, 1]])}
    config = _config(fmt=fmt if rng.random() < 0.9 else "marlin-24") if rng.random() < 0.8 else None
    if config:
        config["quantization_config"]["config_groups"]["group_0"]["weights"] = weights
    return craft.pack(header, data), config


def _pick(rng, options: list):
    return options[rng.integers(len(options))]


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")), deadline=2000, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_any_integer_layout_opens_and_reads_or_is_refused(seed):
    rng = np.random.default_rng(seed)
    blob, config = _fuzzed(rng)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.safetensors")
        with open(path, "wb") as f:
            f.write(blob)
        try:
            ckpt = Checkpoint([path], config)
        except LoadError as e:
            event(f"refused: {str(e).split(':')[-1][:30]}")
            return
        for name, e in ckpt.entries.items():
            event(f"opened: {e.stored}")
            values = ckpt.read(name)
            assert values.dtype == np.float32 and values.shape == e.shape
            np.testing.assert_array_equal(ckpt.read_rows(name, e.shape[0] - 1, e.shape[0]), values[-1:])
            np.testing.assert_array_equal(np.concatenate([c.copy() for c in ckpt.iter_chunks(name, 7)]),
                                          values.reshape(-1))


def test_each_weight_takes_its_own_config_group(tmp_path):
    """A mixed config: q_proj in 4 bits (a `re:` target), every other Linear in 8 bits per channel; each weight
    packed by compressed-tensors' own pack_to_int32 reads as (q - 0) * scale."""
    from compressed_tensors.compressors.pack_quantized.helpers import pack_to_int32
    torch.manual_seed(1)
    q4, q8 = torch.randint(-8, 8, (8, 64), dtype=torch.int8), torch.randint(-128, 128, (8, 64), dtype=torch.int8)
    s4, s8 = torch.rand(8, 2), torch.rand(8, 1)
    tensors = {"a.q_proj.weight_packed": pack_to_int32(q4, 4), "a.q_proj.weight_shape": torch.tensor([8, 64]),
               "a.q_proj.weight_scale": s4, "a.up_proj.weight_packed": pack_to_int32(q8, 8),
               "a.up_proj.weight_shape": torch.tensor([8, 64]), "a.up_proj.weight_scale": s8}
    config = _config()
    config["quantization_config"]["config_groups"] = {
        "group_1": {"targets": ["Linear"], "format": "pack-quantized",
                    "weights": {"num_bits": 8, "type": "int", "strategy": "channel", "symmetric": True}},
        "group_0": {"targets": ["re:.*q_proj$"], "format": "pack-quantized",
                    "weights": {"num_bits": 4, "type": "int", "strategy": "group", "group_size": 32}}}
    ckpt = _open(tmp_path, tensors, config)
    assert [ckpt.entries[n].stored for n in ckpt.names()] == ["INT4 (pack-quantized, group 32)",
                                                              "INT8 (pack-quantized, per-channel)"]
    np.testing.assert_array_equal(ckpt.read("a.q_proj.weight"), (q4.float() * s4.repeat_interleave(32, 1)).numpy())
    np.testing.assert_array_equal(ckpt.read("a.up_proj.weight"), (q8.float() * s8).numpy())
    config["quantization_config"]["config_groups"]["group_0"]["targets"] = ["re:(q_proj"]
    with pytest.raises(LoadError, match="not a regular expression"):
        _open(tmp_path, tensors, config)


def test_zero_points_unpacked_as_older_versions_saved_them(tmp_path):
    """Before compressed-tensors packed them, pack-quantized zero points were stored as the scales are: int8 [R, G]."""
    from compressed_tensors.compressors.pack_quantized.helpers import pack_to_int32
    torch.manual_seed(2)
    q = torch.randint(-8, 8, (8, 64), dtype=torch.int8)
    scale, zero = torch.rand(8, 2), torch.randint(-8, 8, (8, 2), dtype=torch.int8)
    tensors = _packed(**{"x.weight_packed": pack_to_int32(q, 4), "x.weight_scale": scale, "x.weight_zero_point": zero})
    ckpt = _open(tmp_path, tensors, _config(symmetric=False))
    want = ((q.float() - zero.float().repeat_interleave(32, 1)) * scale.repeat_interleave(32, 1)).numpy()
    np.testing.assert_array_equal(ckpt.read("x.weight"), want)
    assert ckpt.entries["x.weight"].scales == "group 32 scales (F32), zero points (I8)"


def test_a_block_of_rows_reads_only_its_rows(tmp_path, monkeypatch):
    """read_rows(40, 48) of a [64, 64] int4 weight with packed zero points reads rows 40:48 of the words and the
    scales, and the one word row of zero points holding rows 40:48 (eight 4-bit rows a word)."""
    from adapters import checkpoint
    tensors = _packed(rows=64, **{"x.weight_zero_point": torch.zeros(8, 2, dtype=torch.int32)})
    ckpt = _open(tmp_path, tensors, _config(symmetric=False))
    calls = []
    read = checkpoint._stored_rows
    monkeypatch.setattr(checkpoint, "_stored_rows", lambda e, start=0, stop=None: calls.append(
        (e.name, start, stop)) or read(e, start, stop))
    ckpt.read_rows("x.weight", 40, 48)
    assert sorted(calls) == [("x.weight_packed", 40, 48), ("x.weight_scale", 40, 48), ("x.weight_zero_point", 5, 6)]
