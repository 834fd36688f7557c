"""compressed-tensors' integer checkpoints (adapters/quantized_int.py), read against compressed-tensors' own
compressors and decompression on the same bytes (tests/adapters/ct_oracle.py): int8 per channel (w8a8, with a
static input scale), int4 in groups of 32 symmetric and asymmetric (packed zero points), int2, 8-bit packed, per-tensor
asymmetric int8. Each equals the library's decompression exactly (float32 scales: the same two float32 operations),
whole, by rows and by chunks; the tiny Llama opens with its source's schema and passes the forward-pass check."""
import copy

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from compressed_tensors.quantization import QuantizationArgs, QuantizationScheme

from adapters import open_model
from adapters.checkpoint import Checkpoint
from tests.adapters import ct_oracle as ct
from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward

L = "model.layers.{l}."
Q = "model.layers.0.self_attn.q_proj.weight"  # [64, 64]
DOWN = "model.layers.1.mlp.down_proj.weight"  # [64, 96]
# scheme -> (stored, scales, bytes beside q_proj's values: scale, zero point, shape, input scale)
EXPECTED = {
    "int8_channel": (ct.INT8_CHANNEL, "INT8 (int-quantized, per-channel)", "per-row scales (F32)", 64 * 4 + 4),
    "int4_group": (ct.INT4_GROUP, "INT4 (pack-quantized, group 32)", "group 32 scales (F32)", 64 * 2 * 4 + 16),
    "int4_asym": (ct.INT4_ASYM, "INT4 (pack-quantized, group 32)", "group 32 scales (F32), zero points (I32)",
                  64 * 2 * 4 + 8 * 2 * 4 + 16),
    "int8_packed": (ct.INT8_PACKED, "INT8 (pack-quantized, per-channel)", "per-row scales (F32), zero points (I32)",
                    64 * 4 + 16 * 4 + 16),
    "int2_asym": (ct.INT2_ASYM, "INT2 (pack-quantized, group 32)", "group 32 scales (F32), zero points (I32)",
                  64 * 2 * 4 + 4 * 2 * 4 + 16),  # the general bit-stream path (not 4 or 8 bits)
    "int8_tensor_asym": (ct.INT8_TENSOR_ASYM, "INT8 (int-quantized, per-tensor)", "one scale (F32), zero points (I8)",
                         4 + 1),
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny Llama (float32, so the library's dequantization is float32 too) and its folder."""
    src = tmp_path_factory.mktemp("ct") / "src"
    hf, original = build("llama", src, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, vocab_size=101, max_position_embeddings=32)
    return hf, original, src


@pytest.mark.parametrize("key", list(EXPECTED))
def test_equals_compressed_tensors_decompression(tiny, tmp_path, key):
    hf, original, src = tiny
    scheme, stored, scales, beside = EXPECTED[key]
    want = ct.compress(hf, src, tmp_path / "q", scheme)
    ckpt = Checkpoint([str(tmp_path / "q" / "model.safetensors")], ct.config(tmp_path / "q"))
    assert sorted(ckpt.names()) == sorted(load_file(str(src / "model.safetensors")))  # one entry per weight
    for name, w in want.items():
        np.testing.assert_array_equal(ckpt.read(name), w, err_msg=name)
    w = want[DOWN]  # [64, 96]: three groups of 32 a row
    np.testing.assert_array_equal(ckpt.read_rows(DOWN, 3, 13), w[3:13])  # inside packed zero-point words
    np.testing.assert_array_equal(ckpt.read_rows(DOWN, 63, 64), w[63:])
    chunks = [c.copy() for c in ckpt.iter_chunks(DOWN, 96 * 5)]
    assert {c.size for c in chunks[:-1]} == {96 * 5}
    np.testing.assert_array_equal(np.concatenate(chunks), w.reshape(-1))
    alone = Checkpoint([str(tmp_path / "q" / "model.safetensors")])  # no config.json: the shapes say the layout
    np.testing.assert_array_equal(alone.read(DOWN), w)
    e = ckpt.entries[Q]
    bits = int(stored[3])
    values = 64 * 64 * bits // 8
    assert (e.stored, e.shape, e.scales, e.dtype) == (stored, (64, 64), scales, f"INT{bits}")
    assert e.disk_bytes == values + beside and e.bits_per_weight == 8 * (values + beside) / (64 * 64)
    with pytest.raises(ValueError, match="iter_chunks"):
        next(ckpt.iter_stored_chunks(Q))


@pytest.mark.parametrize("key", ["int8_channel", "int4_asym", "int8_packed"])
def test_tiny_llama_reads_as_its_dequantized_self(tiny, tmp_path, key):
    """Opened with its source's schema, each weight within the quantization's error, and the per-head views pass
    the forward-pass check of the model holding what compressed-tensors decompresses."""
    hf, original, src = tiny
    want = ct.compress(hf, src, tmp_path / "q", EXPECTED[key][0])
    model = open_model(str(tmp_path / "q"))
    assert model.arch == "llama" and model.names() == original.names()
    assert sorted(model.raw_names()) == sorted(original.raw_names())  # no scale, zero point or shape among them
    assert_all_accounted(model)
    bits = EXPECTED[key][0][1]["num_bits"]
    for name in original.names():
        a, b = original.weight(name), model.weight(name)
        np.testing.assert_allclose(b, a, atol=float(np.abs(a).max()) * 2.0 ** (1 - bits) * 1.01, err_msg=name)
    infos = {t.name: t for t in model.tensors()}
    assert infos[Q].stored == EXPECTED[key][1]
    assert infos["model.layers.0.input_layernorm.weight"].stored == "F32"
    reference = type(hf)(hf.config).eval()
    reference.load_state_dict(hf.state_dict())
    with torch.no_grad():
        for name, w in want.items():
            reference.get_parameter(name).copy_(torch.from_numpy(w))
    check_forward(reference, model, Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True))


def test_bf16_scales_equal_the_library_given_float32_scales(tiny, tmp_path):
    """A bf16 model's scales are bf16: the library dequantizes in bf16, rounding each value; we multiply in float32
    (one rounding), which is its decompression with the same scales widened to float32 first."""
    hf, _, src = tiny
    want = ct.compress(copy.deepcopy(hf).to(torch.bfloat16), src, tmp_path / "q", ct.INT4_ASYM)
    ckpt = Checkpoint([str(tmp_path / "q" / "model.safetensors")], ct.config(tmp_path / "q"))
    assert ckpt.entries[Q].scales == "group 32 scales (BF16), zero points (I32)"
    saved = load_file(str(tmp_path / "q" / "model.safetensors"))
    widened = {k: (v.float() if k.endswith("_scale") else v) for k, v in saved.items()}
    (tmp_path / "w").mkdir()
    save_file(widened, str(tmp_path / "w" / "model.safetensors"))
    schemes = {n.removesuffix(".weight"): _scheme(ct.INT4_ASYM) for n in (Q, DOWN)}
    exact = ct.decompressed(tmp_path / "w", schemes, "pack-quantized")
    for name, w in exact.items():
        np.testing.assert_array_equal(ckpt.read(name), w)
        np.testing.assert_allclose(ckpt.read(name), want[name], rtol=2 ** -7)  # the library's bf16 rounding


def _scheme(scheme):
    return QuantizationScheme(targets=["Linear"], weights=QuantizationArgs(**scheme[1]))


def test_mxfp8_is_read_by_the_fp8_path(tmp_path):
    """compressed-tensors' mxfp8-quantized (FP8 values, an e8m0 U8 scale per 32) is not refused with the integer
    formats: the FP8 path reads it, equal to the library's own decompression."""
    from compressed_tensors.compressors import BaseCompressor
    from compressed_tensors.quantization.utils import calculate_qparams
    torch.manual_seed(0)
    w = torch.randn(16, 64) * torch.logspace(-2, 1, 64)
    args = QuantizationArgs(num_bits=8, type="float", strategy="group", group_size=32, scale_dtype=torch.uint8)
    groups = w.reshape(16, 2, 32)
    scale, _ = calculate_qparams(groups.amin(-1), groups.amax(-1), args)
    codec, scheme = BaseCompressor.get_value_from_registry("mxfp8-quantized"), QuantizationScheme(targets=["Linear"],
                                                                                                 weights=args)
    stored = codec.compress({"weight": w, "weight_scale": scale}, scheme)
    save_file({"x." + k: v.contiguous() for k, v in stored.items()}, str(tmp_path / "m.safetensors"))
    config = {"quantization_config": {"quant_method": "compressed-tensors", "format": "mxfp8-quantized",
                                      "config_groups": {"group_0": {"targets": ["Linear"], "weights": args.model_dump(
                                          mode="json")}}}}
    ckpt = Checkpoint([str(tmp_path / "m.safetensors")], config)
    want = codec.decompress(dict(stored), scheme)["weight"].float().numpy()
    np.testing.assert_array_equal(ckpt.read("x.weight"), want)
    assert ckpt.entries["x.weight"].scales == "1x32 block scales (e8m0)"
