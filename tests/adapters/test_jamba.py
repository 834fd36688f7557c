from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.harness_moe import check_moe

L = "model.layers.{l}."
SPEC = Spec(attn=L + "self_attn", mlp=L + "feed_forward",
            norms={"blocks.{l}.ln1.w": L + "input_layernorm", "blocks.{l}.ln2.w": L + "pre_ff_layernorm",
                   "ln_final.w": "model.final_layernorm"})
# four layers: attention in 1 and 3 (offset 1, period 2), experts in 1: Mamba and attention, dense and MoE
TINY = dict(hidden_size=64, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=48, vocab_size=101, num_experts=5, num_experts_per_tok=2, attn_layer_offset=1,
            attn_layer_period=2, expert_layer_offset=1, expert_layer_period=3, use_mamba_kernels=False)


def test_tiny_jamba_matches_forward_pass(tmp_path):
    hf, model = build("jamba", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "jamba" and model.has_heads and c.positional == "none"
    assert model.layers("attn.W_Q") == model.layers("ln1.w") == [1, 3]
    assert model.layers("mlp.W_in") == [0, 2, 3] and c.moe_layers == (1,)
    assert (c.n_experts, c.n_experts_per_token, c.d_expert) == (5, 2, 48)
    assert model.weight("blocks.3.attn.W_K").shape == (2, 64, 16)
    assert any(n.kind == "layout" and "layers 1, 3 of 4" in n.text for n in c.notes)
    ignored = {n: why for n, (_, why) in model.ignored.items()}
    assert ignored["model.layers.0.mamba.in_proj.weight"] == "state-space (Mamba) mixer: no attention heads"
    assert "model.layers.2.input_layernorm.weight" in ignored and not model.has("blocks.2.ln1.w")
    check_forward(hf, model, SPEC)
    assert check_moe(hf, model, L + "feed_forward", router="router") == 1
    check_ends(hf, model)
    assert_all_accounted(model)


def test_jamba_without_config_is_read_by_layout(tmp_path):
    hf, _ = build("jamba", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path), n_heads=4)
    c = model.cfg
    assert model.arch == "jamba" and model.layers("attn.W_Q") == [1, 3]
    assert (c.n_kv_heads, c.d_head, c.n_experts, c.d_expert, c.moe_layers) == (2, 16, 5, 48, (1,))
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)
