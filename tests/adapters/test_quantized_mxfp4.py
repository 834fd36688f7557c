"""MXFP4 (`X_blocks` + `X_scales`, gpt-oss's experts) read against transformers' own dequantization of the same
bytes (`integrations/mxfp4.convert_moe_packed_tensors`), and a tiny gpt-oss whose experts are stored so."""
import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers.integrations.mxfp4 import FP4_VALUES, convert_moe_packed_tensors

from adapters import open_model
from adapters.checkpoint import Checkpoint
from tests.adapters.harness import assert_all_accounted, build, check_forward
from tests.adapters.harness_moe import check_moe
from tests.adapters.test_gpt_oss import L, SPEC, TINY


def transformers_dequantized(blocks: torch.Tensor, scales: torch.Tensor) -> np.ndarray:
    return convert_moe_packed_tensors(blocks, scales, dtype=torch.float32).numpy()


def quantize_mxfp4(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """transformers' dequantized layout [E, in, out] -> (blocks [E, out, in/32, 16], scales [E, out, in/32]).

    transformers' own quantizer needs triton kernels, so this is the OCP Microscaling Formats v1.0 conversion
    (section 6.3): per 32 values, shared exponent = floor(log2(max |v|)) - 2 (e2m1's largest exponent), stored
    as e8m0 (+127); each value / 2^exponent rounded to the nearest e2m1 value (ties to even), clamped to +-6.
    Two values a byte, the first in the low nibble, as transformers unpacks them."""
    rows = w.transpose(1, 2).double()  # [E, out, in]: blocks run along the input axis
    groups = rows.reshape(*rows.shape[:-1], -1, 32)  # [E, out, in/32, 32]
    amax = groups.abs().amax(-1, keepdim=True).clamp(min=2.0 ** -126)
    exponent = (torch.floor(torch.log2(amax)) - 2).clamp(-127, 127)
    scaled = groups / torch.exp2(exponent)
    magnitudes = torch.tensor(FP4_VALUES[:8], dtype=torch.float64)
    distance = (scaled.abs().clamp(max=6.0)[..., None] - magnitudes).abs()  # [..., 32, 8]
    distance -= (torch.arange(8) % 2 == 0) * 1e-9  # a tie goes to the even code (mantissa bit 0)
    code = distance.argmin(-1) + 8 * (scaled < 0)  # sign bit 8
    nibbles = code.to(torch.uint8)
    blocks = nibbles[..., 0::2] | (nibbles[..., 1::2] << 4)
    return blocks.contiguous(), (exponent[..., 0] + 127).to(torch.uint8).contiguous()


def test_blocks_and_scales_read_as_transformers_dequantizes_them(tmp_path):
    torch.manual_seed(0)
    blocks = torch.randint(0, 256, (3, 40, 2, 16), dtype=torch.uint8)
    scales = torch.randint(100, 150, (3, 40, 2), dtype=torch.uint8)
    scales[0, 0, 0], scales[1, 2, 1] = 0, 254  # the smallest (2^-127, subnormal in float32) and largest scales
    save_file({"experts.down_proj_blocks": blocks, "experts.down_proj_scales": scales}, str(tmp_path / "m.safetensors"))
    ckpt = Checkpoint([str(tmp_path / "m.safetensors")])
    assert ckpt.names() == ["experts.down_proj"]
    want = transformers_dequantized(blocks, scales)  # [3, 64, 40]
    e = ckpt.entries["experts.down_proj"]
    assert (e.stored, e.shape, e.bits_per_weight, e.scales) == ("MXFP4", (3, 64, 40), 4.25, "e8m0 scale per 32 values")
    np.testing.assert_array_equal(ckpt.read("experts.down_proj"), want)
    np.testing.assert_array_equal(ckpt.read_rows("experts.down_proj", 2, 3), want[2:3])  # one expert alone
    np.testing.assert_array_equal(np.concatenate([c.copy() for c in ckpt.iter_chunks("experts.down_proj", 1000)]),
                                  want.reshape(-1))
    unordered = np.concatenate([c.copy() for c in ckpt.iter_chunks("experts.down_proj", 1000, ordered=False)])
    np.testing.assert_array_equal(np.sort(unordered), np.sort(want.reshape(-1)))  # the same values, for statistics


def test_scale_255_is_nan(tmp_path):
    """e8m0's 0xFF is NaN (OCP MX v1.0, 5.4.1): the block reads as NaN, for the health check to report."""
    blocks = torch.full((1, 1, 1, 16), 0x21, dtype=torch.uint8)
    scales = torch.tensor([[[255]]], dtype=torch.uint8)
    save_file({"x_blocks": blocks, "x_scales": scales}, str(tmp_path / "m.safetensors"))
    assert np.isnan(Checkpoint([str(tmp_path / "m.safetensors")]).read("x")).all()


def test_quantizer_round_trips_within_mxfp4_error():
    torch.manual_seed(1)
    w = torch.randn(2, 64, 24)
    got = transformers_dequantized(*quantize_mxfp4(w))
    assert got.shape == (2, 64, 24)
    block_max = w.transpose(1, 2).reshape(2, 24, 2, 32).abs().amax(-1)  # [E, out, in/32]
    # a value is off by at most half e2m1's widest step (2, between 4 and 6) or its clamp at 6: max |v| / 4
    bound = (block_max / 4)[..., None].expand(2, 24, 2, 32).reshape(2, 24, 64).transpose(1, 2)
    assert (np.abs(got - w.numpy()) <= bound.numpy() + 1e-7).all()
    assert np.abs(got - w.numpy()).max() > 0  # it did quantize


@pytest.fixture
def gpt_oss_mxfp4(tmp_path):
    """A tiny gpt-oss saved with its experts MXFP4 as the Hub's release stores them: (hf model holding the
    dequantized experts, our model, {projection name: transformers' dequantization})."""
    hf, _ = build("gpt_oss", tmp_path / "bf", **{**TINY, "intermediate_size": 64})  # d_ff in whole blocks of 32
    state = load_file(str(tmp_path / "bf" / "model.safetensors"))
    out, dequantized = {}, {}
    for name, w in state.items():
        if name.endswith(("experts.gate_up_proj", "experts.down_proj")):
            out[name + "_blocks"], out[name + "_scales"] = quantize_mxfp4(w)
            dequantized[name] = transformers_dequantized(out[name + "_blocks"], out[name + "_scales"])
        else:
            out[name] = w
    (tmp_path / "mx").mkdir()
    save_file(out, str(tmp_path / "mx" / "model.safetensors"), metadata={"format": "pt"})
    (tmp_path / "mx" / "config.json").write_text((tmp_path / "bf" / "config.json").read_text())
    with torch.no_grad():
        for name, w in dequantized.items():
            hf.get_parameter(name).copy_(torch.from_numpy(w))
    return hf, open_model(str(tmp_path / "mx")), dequantized


def test_tiny_gpt_oss_with_mxfp4_experts_matches_forward_pass(gpt_oss_mxfp4):
    hf, model, dequantized = gpt_oss_mxfp4
    assert model.arch == "gpt_oss" and not [n for n in model.cfg.notes if n.kind == "absent"]
    fused = dequantized["model.layers.1.mlp.experts.gate_up_proj"]  # [5, 64, 128]: gate even, up odd
    np.testing.assert_array_equal(model.weight("blocks.1.mlp.experts.W_in", expert=2), fused[2][:, 1::2])
    np.testing.assert_array_equal(model.weight("blocks.1.mlp.experts.W_gate")[4], fused[4][:, ::2])
    np.testing.assert_array_equal(model.weight("blocks.0.mlp.experts.W_out"),
                                  dequantized["model.layers.0.mlp.experts.down_proj"])
    assert check_moe(hf, model, L + "mlp", router="router", glu="gpt_oss", limit=0.05) == 2
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)
    experts = {t.name: t for t in model.tensors()}["model.layers.0.mlp.experts.gate_up_proj"]
    assert (experts.stored, experts.bits_per_weight, experts.nbytes) == ("MXFP4", 4.25, 5 * 64 * 128 * 17 // 32)
