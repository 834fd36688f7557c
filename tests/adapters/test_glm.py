"""GLM and GLM-4 (families/glm.py): Llama's attention with q/k/v biases, a fused gate_up_proj, partial rotary
(the identity at position 0), and GLM-4's norms on each sublayer's output, against the forward pass."""
import pytest

from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.test_llama import TINY

L = "model.layers.{l}."
NORMS = {"blocks.{l}.ln1.w": L + "input_layernorm", "blocks.{l}.ln2.w": L + "post_attention_layernorm",
         "ln_final.w": "model.norm"}
GLM4_NORMS = {**NORMS, "blocks.{l}.ln1_post.w": L + "post_self_attn_layernorm",
              "blocks.{l}.ln2_post.w": L + "post_mlp_layernorm"}


@pytest.mark.parametrize("model_type, norms, position", [("glm", NORMS, "pre"), ("glm4", GLM4_NORMS, "sandwich")])
def test_tiny_glm_matches_forward_pass(model_type, norms, position, tmp_path):
    hf, model = build(model_type, tmp_path, **TINY, partial_rotary_factor=0.5, head_dim=16, pad_token_id=0, eos_token_id=2)
    c = model.cfg
    assert model.arch == model_type and model.has_heads
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.d_mlp, c.rotary_dim) == (4, 2, 16, 96, 8)
    assert (c.gated_mlp, c.norm, c.norm_position) == (True, "rmsnorm", position)
    assert model.has("blocks.0.attn.b_Q") and not model.has("blocks.0.attn.b_O")
    check_forward(hf, model, Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True, norms=norms))
    check_ends(hf, model)
    assert_all_accounted(model)


@pytest.mark.parametrize("model_type", ["glm", "glm4"])
def test_without_config_glm_is_detected_by_layout(model_type, tmp_path):
    from adapters import open_model
    build(model_type, tmp_path, **TINY, head_dim=16, pad_token_id=0, eos_token_id=2)
    lone = tmp_path / "lone" / "weights.safetensors"
    lone.parent.mkdir()
    lone.write_bytes((tmp_path / "model.safetensors").read_bytes())
    model = open_model(str(lone), n_heads=4)
    assert model.arch == model_type and model.cfg.d_mlp == 96 and model.cfg.n_kv_heads == 2
    assert_all_accounted(model)
