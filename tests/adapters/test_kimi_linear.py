from adapters import open_model
from tests.adapters.harness import assert_all_accounted, build, check_ends
from tests.adapters.harness_mla import check_mla
from tests.adapters.harness_moe import check_moe

L = "model.layers.{l}."
# MLA in layer 1 of 3, between Kimi Delta Attention layers; layer 0 keeps a dense MLP
TINY = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=4, vocab_size=101,
            pad_token_id=0, bos_token_id=1, eos_token_id=2, kv_lora_rank=16, qk_rope_head_dim=8, qk_nope_head_dim=16,
            v_head_dim=16, num_local_experts=4, num_experts_per_tok=2, moe_intermediate_size=32, intermediate_size=48,
            linear_head_dim=16, linear_num_heads=4, layer_types=["linear_attention", "full_attention",
                                                                  "linear_attention"],
            mlp_layer_types=["dense", "sparse", "sparse"])


def test_tiny_kimi_linear_matches_forward_pass(tmp_path):
    hf, model = build("kimi_linear", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "kimi_linear" and model.layers("attn.W_Q") == [1]
    assert (c.n_heads, c.d_head, c.d_head_rope, c.d_head_v, c.kv_lora_rank, c.positional) == (4, 24, 8, 16, 16,
                                                                                                 "none")
    assert c.moe_layers == (1, 2) and model.layers("mlp.W_in") == [0] and c.n_shared_experts == 1
    assert any(n.kind == "layout" and "layer 1 of 3" in n.text for n in c.notes)
    assert any(n.kind == "positions" and n.text.startswith("No rotary") for n in c.notes)
    why = {n: w for n, (_, w) in model.ignored.items()}
    assert why["model.layers.0.self_attn.q_proj.weight"] == ("linear-attention (Kimi Delta Attention) mixer: "
                                                             "no attention heads")
    check_mla(hf, model)
    assert check_moe(hf, model, L + "mlp") == 2
    check_ends(hf, model)
    assert_all_accounted(model)


def test_kimi_linear_without_config_is_read_by_layout(tmp_path):
    hf, _ = build("kimi_linear", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path))  # MLA's shapes give every head size
    c = model.cfg
    assert model.arch == "kimi_linear" and (c.n_heads, c.d_head, c.d_head_v) == (4, 24, 16)
    check_mla(hf, model)
    assert_all_accounted(model)
