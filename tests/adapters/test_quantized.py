"""FP8 weights with their scales (adapters/quantized.py), read against transformers' own FP8 code on the same bytes:
`Fp8Quantize` / `Fp8Dequantize` and `_dequantize_fp8_weight` (integrations/finegrained_fp8.py: DeepSeek-V3's
`weight_scale_inv` blocks) and compressed-tensors' and fbgemm's `weight_scale` (value = fp8 * scale, as
transformers' CompressedTensorsDequantize writes it: `quant.to(float32) * scale.to(float32)`)."""
import json
import types

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import FineGrainedFP8Config
from transformers.integrations.finegrained_fp8 import Fp8Dequantize, Fp8Quantize, _dequantize_fp8_weight

from adapters import open_model
from adapters.checkpoint import Checkpoint
from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward

FP8_BLOCK = {"quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128],
                                     "activation_scheme": "dynamic"}}


def quantize(w: torch.Tensor, block=(128, 128)) -> tuple[torch.Tensor, torch.Tensor]:
    """transformers' own FP8 block quantizer: (fp8 weight, weight_scale_inv)."""
    cfg = FineGrainedFP8Config(weight_block_size=block)
    out = Fp8Quantize(types.SimpleNamespace(quantization_config=cfg))._quantize_one("x.weight", w)
    return out["x.weight"], out["x.weight_scale_inv"]


def transformers_dequantized(q: torch.Tensor, scale: torch.Tensor) -> np.ndarray:
    return Fp8Dequantize(None)._dequantize_one(q, scale, output_dtype=torch.float32).numpy()


def _open(tmp_path, tensors: dict, config: dict | None = None) -> Checkpoint:
    path = tmp_path / "model.safetensors"
    save_file(tensors, str(path))
    return Checkpoint([str(path)], config)


def test_deepseek_block_scales_equal_transformers(tmp_path):
    torch.manual_seed(0)
    w = torch.randn(256, 384) * torch.logspace(-3, 1, 384)  # columns of very different magnitude: blocks differ
    q, scale = quantize(w)
    ckpt = _open(tmp_path, {"x.weight": q, "x.weight_scale_inv": scale}, FP8_BLOCK)
    assert ckpt.names() == ["x.weight"]  # the scale belongs to its weight
    want = transformers_dequantized(q, scale)
    np.testing.assert_array_equal(ckpt.read("x.weight"), want)
    np.testing.assert_array_equal(ckpt.read_rows("x.weight", 100, 200), want[100:200])  # across a block boundary
    chunks = [c.copy() for c in ckpt.iter_chunks("x.weight", 384 * 3)]
    assert {c.size for c in chunks[:-1]} == {384 * 3}  # whole rows, as spectral streaming asks
    np.testing.assert_array_equal(np.concatenate(chunks), want.reshape(-1))
    np.testing.assert_allclose(want, w.numpy(), rtol=2 ** -4, atol=float(w.abs().max()) / 448 * 2 ** -9)
    e = ckpt.entries["x.weight"]
    assert (e.stored, e.shape, e.scales) == ("F8_E4M3", (256, 384), "128x128 block scales (F32)")
    assert e.disk_bytes == 256 * 384 + 2 * 3 * 4 and e.bits_per_weight == 8 + 32 * 6 / (256 * 384)
    with pytest.raises(ValueError, match="iter_chunks"):  # its raw bits would be read without their scales
        next(ckpt.iter_stored_chunks("x.weight"))


@pytest.mark.parametrize("config", [FP8_BLOCK, None])
def test_ragged_last_block(tmp_path, config):
    """300 x 200 in 128 x 128 blocks (declared, or transformers' default for weight_scale_inv): a grid of 3 x 2
    whose last blocks are short, not 100 x 100 blocks (transformers' backward-pass dequantizer handles the ragged
    edge; its quantizer does not, so the scales here are random)."""
    torch.manual_seed(1)
    q = (torch.randn(300, 200) * 100).to(torch.float8_e4m3fn)
    scale = torch.rand(3, 2) + 0.01
    tensors = {"x.weight": q, "x.weight_scale_inv": scale}
    ckpt = _open(tmp_path, tensors, config)
    want = _dequantize_fp8_weight(q.clone(), scale, [128, 128], torch.float32).numpy()
    np.testing.assert_array_equal(ckpt.read("x.weight"), want)
    np.testing.assert_array_equal(ckpt.read_rows("x.weight", 127, 257), want[127:257])
    from adapters import LoadError
    with pytest.raises(LoadError, match="weight_block_size"):  # 7 x 3 blocks tile it neither way
        _open(tmp_path, {"x.weight": q, "x.weight_scale_inv": torch.rand(7, 3)}, config)


@pytest.mark.parametrize("scale_shape", [(), (1,), (48,), (48, 1)])
@pytest.mark.parametrize("fp8", [torch.float8_e4m3fn, torch.float8_e5m2])
def test_per_tensor_and_per_row_scales_like_compressed_tensors(tmp_path, scale_shape, fp8):
    torch.manual_seed(2)
    q = (torch.randn(48, 40) * 30).to(fp8)
    scale = (torch.rand(scale_shape) + 0.5).to(torch.bfloat16)
    ckpt = _open(tmp_path, {"x.weight": q, "x.weight_scale": scale, "x.input_scale": torch.tensor([0.5])})
    assert ckpt.names() == ["x.weight"]
    rows = scale.reshape(-1, 1) if scale.numel() > 1 else scale  # [R] is one per output row
    want = (q.to(torch.float32) * rows.to(torch.float32)).numpy()  # CompressedTensorsDequantize's formula
    np.testing.assert_array_equal(ckpt.read("x.weight"), want)
    np.testing.assert_array_equal(ckpt.read_rows("x.weight", 5, 9), want[5:9])
    e = ckpt.entries["x.weight"]
    assert e.disk_bytes == 48 * 40 + 2 * scale.numel() + 4  # the activation scale is counted with its weight
    assert e.scales == ("one scale (BF16)" if scale.numel() == 1 else "per-row scales (BF16)")


def test_expert_stack_with_its_own_grids_and_e8m0_scales(tmp_path):
    """transformers' fused FP8 experts: gate_up_proj [E, R, C] with gate_up_proj_scale_inv [E, R/32, C/32];
    uint8 scales are e8m0 (2^(b-127)), as Fp8Dequantize reads them."""
    torch.manual_seed(3)
    q = (torch.randn(3, 64, 96) * 50).to(torch.float8_e4m3fn)
    scale = torch.randint(120, 135, (3, 2, 3), dtype=torch.uint8)
    ckpt = _open(tmp_path, {"experts.gate_up_proj": q, "experts.gate_up_proj_scale_inv": scale})
    want = transformers_dequantized(q, scale)
    np.testing.assert_array_equal(ckpt.read("experts.gate_up_proj"), want)
    np.testing.assert_array_equal(ckpt.read_rows("experts.gate_up_proj", 1, 2), want[1:2])  # one expert alone
    assert ckpt.entries["experts.gate_up_proj"].scales == "32x32 block scales (e8m0)"


def test_per_column_scales_of_fbgemm_experts(tmp_path):
    """fbgemm_fp8's Llama-4 experts: gate_up_proj [E, in, out] scaled per output column, [E, 1, out]."""
    torch.manual_seed(4)
    q = (torch.randn(2, 16, 24) * 50).to(torch.float8_e4m3fn)
    scale = torch.rand(2, 1, 24) + 0.1
    ckpt = _open(tmp_path, {"experts.gate_up_proj": q, "experts.gate_up_proj_scale": scale})
    np.testing.assert_array_equal(ckpt.read("experts.gate_up_proj"), (q.float() * scale).numpy())


def _fp8_checkpoint(src, dst, block=(32, 32)) -> dict:
    """The safetensors in `src` re-saved to `dst` with every projection FP8 block-quantized by transformers; returns
    {name: transformers' dequantization} of each quantized weight."""
    state = load_file(str(src / "model.safetensors"))
    out, dequantized = {}, {}
    for name, w in state.items():
        if name.endswith("proj.weight"):
            out[name], out[name + "_scale_inv"] = quantize(w, block)
            dequantized[name] = transformers_dequantized(out[name], out[name + "_scale_inv"])
        else:
            out[name] = w
    dst.mkdir()
    save_file(out, str(dst / "model.safetensors"), metadata={"format": "pt"})
    config = json.loads((src / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "fp8", "weight_block_size": list(block)}
    (dst / "config.json").write_text(json.dumps(config))
    return dequantized


def test_tiny_llama_in_fp8_reads_as_its_dequantized_self(tmp_path):
    """A tiny Llama with every projection FP8 in 32x32 blocks opens with the same schema, each weight within fp8's
    error of the original, and its per-head views match the forward pass of the model holding those values."""
    L = "model.layers.{l}."
    hf, original = build("llama", tmp_path / "bf", hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, vocab_size=101, max_position_embeddings=32)
    dequantized = _fp8_checkpoint(tmp_path / "bf", tmp_path / "fp8")
    model = open_model(str(tmp_path / "fp8"))
    assert model.arch == "llama" and model.names() == original.names()
    assert sorted(model.raw_names()) == sorted(original.raw_names())  # no scale tensor among them
    assert_all_accounted(model)
    for name in original.names():
        want, got = original.weight(name), model.weight(name)
        np.testing.assert_allclose(got, want, rtol=2 ** -4, atol=float(np.abs(want).max()) / 448 * 2 ** -9)
    infos = {t.name: t for t in model.tensors()}
    assert infos["model.layers.0.self_attn.q_proj.weight"].stored == "F8_E4M3"
    assert infos["model.layers.0.input_layernorm.weight"].stored == "F32"
    with torch.no_grad():  # the reference model holds exactly what transformers dequantizes
        for name, w in dequantized.items():
            hf.get_parameter(name).copy_(torch.from_numpy(w))
    check_forward(hf, model, Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True))
