from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.harness_moe import check_moe

L = "model.layers.{l}."  # saved as backbone.layers
SPEC = Spec(attn=L + "mixer", mlp=L + "mixer",
            norms={"blocks.{l}.ln1.w": L + "norm", "blocks.{l}.ln2.w": L + "norm", "ln_final.w": "model.norm_f"})
# Mamba2, experts, attention, an MLP, attention: every mixer, and the norm as ln1 or ln2 by layer
TINY = dict(hidden_size=64, layers_block_type=["linear_attention", "moe", "full_attention", "mlp", "full_attention"],
            num_attention_heads=4, num_key_value_heads=2, head_dim=16, intermediate_size=48, vocab_size=101,
            mamba_num_heads=8, mamba_head_dim=16, ssm_state_size=8, n_groups=1, chunk_size=4, n_routed_experts=4,
            num_experts_per_tok=2, moe_intermediate_size=40, moe_shared_expert_intermediate_size=24)


def test_tiny_nemotron_h_matches_forward_pass(tmp_path):
    hf, model = build("nemotron_h", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "nemotron_h" and model.has_heads and (c.positional, c.act, c.gated_mlp) == ("none", "relu2", False)
    assert model.layers("attn.W_Q") == model.layers("ln1.w") == [2, 4]
    assert model.layers("mlp.W_in") == [3] and model.layers("ln2.w") == [1, 3] and c.moe_layers == (1,)
    assert (c.n_experts, c.d_expert, c.n_shared_experts) == (4, 40, 1)
    assert not model.has("blocks.1.mlp.experts.W_gate") and model.weight("blocks.1.mlp.shared.W_in").shape == (64, 24)
    assert any(n.kind == "layout" and "attention in layers 2, 4" in n.text for n in c.notes)
    why = {n: w for n, (_, w) in model.ignored.items()}
    assert why["backbone.layers.0.mixer.in_proj.weight"] == "state-space (Mamba2) mixer: no attention heads"
    assert "backbone.layers.0.norm.weight" in why and "backbone.layers.0.mixer.norm.weight" in why
    check_forward(hf, model, SPEC)
    assert check_moe(hf, model, L + "mixer") == 1
    check_ends(hf, model)
    assert_all_accounted(model)


def test_nemotron_h_without_config_is_read_by_layout(tmp_path):
    hf, _ = build("nemotron_h", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path), n_heads=4)
    c = model.cfg
    assert model.arch == "nemotron_h" and model.layers("attn.W_Q") == [2, 4] and model.layers("ln2.w") == [1, 3]
    assert (c.n_kv_heads, c.d_head, c.d_mlp, c.n_experts, c.d_expert, c.act) == (2, 16, 48, 4, 40, "relu2")
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)
