from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward

L = "model.layers.{l}."
# post_attention_layernorm: after attention in attention layers, before the MLP in linear-attention ones
SPEC = Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True,
            norms={"blocks.{l}.ln1_post.w": L + "post_attention_layernorm", "blocks.{l}.ln2.w":
                   L + "post_attention_layernorm", "blocks.{l}.ln2_post.w": L + "post_feedforward_layernorm",
                   "ln_final.w": "model.norm"})
TINY = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, intermediate_size=96,
            vocab_size=101, pad_token_id=0, eos_token_id=1, linear_num_key_heads=2, linear_num_value_heads=2,
            linear_key_head_dim=16, linear_value_head_dim=16,
            layer_types=["linear_attention", "full_attention", "linear_attention"])


def test_tiny_olmo_hybrid_matches_forward_pass(tmp_path):
    hf, model = build("olmo_hybrid", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "olmo_hybrid" and model.has_heads
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.norm_position, c.qk_norm) == (4, 2, 16, "output", "projection")
    assert model.layers("attn.W_Q") == model.layers("ln1_post.w") == model.layers("ln2_post.w") == [1]
    assert model.layers("ln2.w") == [0, 2] and model.layers("mlp.W_in") == [0, 1, 2]
    assert model.weight("blocks.1.attn.q_norm.w").shape == (4, 16)
    assert any(n.kind == "layout" and "layer 1 of 3" in n.text for n in c.notes)
    why = {n: w for n, (_, w) in model.ignored.items()}
    assert why["model.layers.0.attention_layer_norm.weight"] == ("the norm before a linear-attention "
                                                                 "(Gated DeltaNet) mixer")
    check_forward(hf, model, SPEC)
    check_ends(hf, model)
    assert_all_accounted(model)


def test_olmo_hybrid_without_config_is_read_by_layout(tmp_path):
    hf, _ = build("olmo_hybrid", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path), n_heads=4)  # q_norm spans every head: the count is the caller's
    c = model.cfg
    assert model.arch == "olmo_hybrid" and (c.n_heads, c.n_kv_heads, c.d_head, c.d_mlp) == (4, 2, 16, 96)
    assert model.layers("attn.W_Q") == [1]
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)
