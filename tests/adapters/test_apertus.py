import pytest

from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward

L = "model.layers.{l}."
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=96,
            vocab_size=99, max_position_embeddings=64)
SPEC = Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True, act_module=L + "mlp.act_fn",  # learned xIELU
            norms={"blocks.{l}.ln1.w": L + "attention_layernorm", "blocks.{l}.ln2.w": L + "feedforward_layernorm",
                   "ln_final.w": "model.norm"})


@pytest.mark.parametrize("model_type", ["apertus", "apertus1p5_text"])
def test_tiny_apertus_matches_forward_pass(tmp_path, model_type):
    hf, model = build(model_type, tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "apertus" and model.has_heads
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.gated_mlp, c.act, c.qk_norm) == (4, 2, 16, False, "xielu", "head")
    assert "blocks.0.mlp.W_in" in model.names() and not model.has("blocks.0.mlp.W_gate")
    check_forward(hf, model, SPEC)
    check_ends(hf, model)
    assert_all_accounted(model)
