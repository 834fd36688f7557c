from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.harness_moe import check_moe
from tests.adapters.test_qwen_moe import L, SPEC

TINY = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
            moe_intermediate_size=40, shared_expert_intermediate_size=24, vocab_size=101, max_position_embeddings=64,
            num_experts=5, num_experts_per_tok=2, linear_num_key_heads=2, linear_num_value_heads=4,
            linear_key_head_dim=16, linear_value_head_dim=16, sliding_window=3,
            layer_types=["linear_attention", "sliding_attention", "full_attention"])


def test_tiny_lara_mini_matches_forward_pass(tmp_path):
    hf, model = build("lara_mini", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "lara_mini" and model.has_heads and c.qk_norm == "head" and c.d_head == 16
    assert model.layers("attn.W_Q") == [1, 2]
    assert (c.n_experts, c.n_experts_per_token, c.d_expert, c.n_shared_experts, c.moe_layers) == (5, 2, 40, 1, None)
    assert (c.sliding_window, c.sliding_layers) == (3, (1,))
    assert model.weight("blocks.0.mlp.shared.W_in").shape == (64, 24) and not model.has("blocks.0.mlp.shared.W_router")
    check_forward(hf, model, Spec(**{**SPEC.__dict__, "window": 3, "window_layers": (1,)}))
    assert check_moe(hf, model, L + "mlp") == 3  # the shared expert, ungated, in the block's output
    check_ends(hf, model)
    assert_all_accounted(model)
