from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.harness_moe import check_moe

L = "model.layers.{l}."
SPEC = Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True,
            norms={"blocks.{l}.ln1.w": L + "input_layernorm", "blocks.{l}.ln2.w": L + "post_attention_layernorm",
                   "ln_final.w": "model.norm"})
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=48, vocab_size=101, max_position_embeddings=64, num_local_experts=5,
            num_experts_per_tok=2, attention_bias=True, lm_head_bias=True)


def test_tiny_phimoe_matches_forward_pass(tmp_path):
    hf, model = build("phimoe", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "phimoe" and model.has_heads and c.norm == "layernorm"
    assert (c.n_experts, c.n_experts_per_token, c.d_expert, c.n_shared_experts, c.moe_layers) == (5, 2, 48, 0, None)
    assert model.has("blocks.1.ln2.b") and model.has("ln_final.b") and model.has("unembed.b_U")
    check_forward(hf, model, SPEC)  # LayerNorms with their biases, attention with q/k/v/o biases
    assert check_moe(hf, model, L + "mlp", router="router") == 2  # SparseMixer's own weights, each expert
    check_ends(hf, model)
    assert_all_accounted(model)


def test_phimoe_without_config_is_read_by_layout(tmp_path):
    build("phimoe", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path), n_heads=4)
    assert model.arch == "phimoe" and model.cfg.norm == "layernorm" and model.cfg.n_experts == 5
    assert_all_accounted(model)
