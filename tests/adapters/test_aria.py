from tests.adapters.harness import assert_all_accounted, build, check_ends, check_forward
from tests.adapters.harness_moe import check_moe
from tests.adapters.test_qwen_moe import L, SPEC

TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
            intermediate_size=40, vocab_size=101, max_position_embeddings=64, moe_num_experts=5, moe_topk=2,
            moe_num_shared_experts=2, pad_token_id=0)


def test_tiny_aria_text_matches_forward_pass(tmp_path):
    hf, model = build("aria_text", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "aria_text" and model.has_heads
    assert (c.n_experts, c.n_experts_per_token, c.d_expert, c.n_shared_experts, c.moe_layers) == (5, 2, 40, 2, None)
    assert model.weight("blocks.1.mlp.experts.W_gate").shape == (5, 64, 40)
    assert model.weight("blocks.1.mlp.shared.W_in").shape == (64, 80)
    check_forward(hf, model, SPEC)
    assert check_moe(hf, model, L + "mlp", router="router") == 2  # the shared experts in the block's output
    check_ends(hf, model)
    assert_all_accounted(model)
