import pytest

from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward

L = "model.layers.{l}."
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=96,
            vocab_size=101, max_position_embeddings=64, bos_token_id=1, eos_token_id=2)
# attention and the MLP both read input_layernorm's output: the MLP's input hook sees that same x
SPEC = Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True,
            norms={"blocks.{l}.ln1.w": L + "input_layernorm", "ln_final.w": "model.final_layernorm"})


@pytest.mark.parametrize("factor", [0.5, 0.25])
def test_tiny_phi_matches_forward_pass(factor, tmp_path):
    hf, model = build("phi", tmp_path, partial_rotary_factor=factor, **TINY)
    c = model.cfg
    assert model.arch == "phi" and model.has_heads
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.rotary_dim, c.act) == (4, 2, 16, int(16 * factor), "gelu_new")
    assert (c.parallel_residual, c.gated_mlp, c.norm) == (True, False, "layernorm")
    assert not model.has("blocks.0.ln2.w")  # one norm per layer, shared
    assert model.has("blocks.0.ln1.b") and model.has("blocks.1.attn.b_K") and model.has("unembed.b_U")
    check_forward(hf, model, SPEC)
    check_ends(hf, model)
    assert_all_accounted(model)


def test_qk_layernorm_is_listed_and_noted(tmp_path):
    _, model = build("phi", tmp_path, qk_layernorm=True, **{**TINY, "num_hidden_layers": 1})
    assert model.ignored["model.layers.0.self_attn.q_layernorm.weight"][0] == "norm"
    assert any("qk_layernorm" in n.text for n in model.cfg.notes if n.kind == "maths")
    assert_all_accounted(model)
