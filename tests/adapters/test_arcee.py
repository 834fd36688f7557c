"""Arcee and Jais2 (families/arcee.py): Llama's attention with an ungated up/down MLP (relu2), and Jais2's
biases and LayerNorms, against the forward pass."""
import pytest

from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.test_llama import TINY

L = "model.layers.{l}."
SPEC = Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True,
            norms={"blocks.{l}.ln1.w": L + "input_layernorm", "blocks.{l}.ln2.w": L + "post_attention_layernorm",
                   "ln_final.w": "model.norm"})


@pytest.mark.parametrize("model_type, norm, biased", [("arcee", "rmsnorm", False), ("jais2", "layernorm", True)])
def test_tiny_model_matches_forward_pass(model_type, norm, biased, tmp_path):
    hf, model = build(model_type, tmp_path, **TINY, pad_token_id=0, bos_token_id=1, eos_token_id=2)
    c = model.cfg
    assert model.arch == model_type and model.has_heads
    assert (c.n_kv_heads, c.d_mlp, c.gated_mlp, c.act, c.norm) == (2, 96, False, "relu2", norm)
    assert not model.has("blocks.0.mlp.W_gate")
    assert all(model.has(f"blocks.1.{s}") == biased for s in ("mlp.b_in", "mlp.b_out", "ln1.b", "attn.b_O"))
    check_forward(hf, model, SPEC)
    check_ends(hf, model)
    assert_all_accounted(model)


@pytest.mark.parametrize("model_type", ["arcee", "jais2"])
def test_without_config_is_detected_by_layout(model_type, tmp_path):
    from adapters import open_model
    build(model_type, tmp_path, **TINY, pad_token_id=0, bos_token_id=1, eos_token_id=2)
    lone = tmp_path / "lone" / "weights.safetensors"
    lone.parent.mkdir()
    lone.write_bytes((tmp_path / "model.safetensors").read_bytes())
    model = open_model(str(lone), n_heads=4)
    assert model.arch == model_type and model.cfg.d_mlp == 96
    assert_all_accounted(model)
