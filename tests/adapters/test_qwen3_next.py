import pytest

from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.harness_moe import check_moe

L = "model.layers.{l}."
SPEC = Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True,
            norms={"blocks.{l}.ln1.w": L + "input_layernorm", "blocks.{l}.ln2.w": L + "post_attention_layernorm",
                   "ln_final.w": "model.norm"})
# attention in layer 1 of 3, between Gated DeltaNet layers; layer 2 keeps a dense MLP (Qwen3-Next)
TINY = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
            intermediate_size=48, vocab_size=101, layer_types=["linear_attention", "full_attention",
                                                              "linear_attention"],
            linear_num_key_heads=2, linear_num_value_heads=4, linear_key_head_dim=8, linear_value_head_dim=8)
MOE = dict(num_experts=5, num_experts_per_tok=2, moe_intermediate_size=40, shared_expert_intermediate_size=24,
           mlp_only_layers=[2], norm_topk_prob=True)


def test_tiny_qwen3_next_matches_forward_pass(tmp_path):
    hf, model = build("qwen3_next", tmp_path, **TINY, **MOE)
    c = model.cfg
    assert model.arch == "qwen3_next" and model.layers("attn.W_Q") == model.layers("ln1.w") == [1]
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.rotary_dim, c.qk_norm) == (4, 2, 16, 4, "head")
    assert model.weight("blocks.1.attn.W_gate").shape == model.weight("blocks.1.attn.W_Q").shape == (4, 64, 16)
    assert c.moe_layers == (0, 1) and model.layers("mlp.W_in") == [2] and c.n_shared_experts == 1
    assert any(n.kind == "layout" and "layer 1 of 3" in n.text for n in c.notes)
    why = {n: w for n, (_, w) in model.ignored.items()}
    assert why["model.layers.0.linear_attn.in_proj_qkvz.weight"] == ("linear-attention (Gated DeltaNet) mixer: "
                                                                     "no attention heads")
    check_forward(hf, model, SPEC)
    assert check_moe(hf, model, L + "mlp") == 2
    check_ends(hf, model)
    assert_all_accounted(model)


def test_tiny_qwen3_5_matches_forward_pass(tmp_path):
    hf, model = build("qwen3_5_text", tmp_path, **TINY)
    assert model.arch == "qwen3_5" and model.layers("attn.W_Q") == [1] and model.layers("mlp.W_in") == [0, 1, 2]
    check_forward(hf, model, SPEC)
    check_ends(hf, model)
    assert_all_accounted(model)


@pytest.mark.parametrize("model_type, arch, extra", [("qwen3_next", "qwen3_next", MOE),
                                                     ("qwen3_5_text", "qwen3_5", {})])
def test_without_config_the_layout_decides(model_type, arch, extra, tmp_path):
    hf, _ = build(model_type, tmp_path, **TINY, **extra)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path))  # q_norm's length gives d_head, and with it every head count
    c = model.cfg
    assert model.arch == arch and (c.n_heads, c.n_kv_heads, c.d_head) == (4, 2, 16)
    assert model.layers("attn.W_Q") == [1]
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)
