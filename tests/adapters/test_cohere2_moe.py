from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.harness_moe import check_moe
from tests.adapters.test_cohere import SPEC

L = "model.layers.{l}."
# layer 0 dense (prefix_dense_intermediate_size), 1 and 2 sparse; layer 1 slides, layer 2 attends in full
TINY = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
            intermediate_size=40, prefix_dense_intermediate_size=56, vocab_size=101, max_position_embeddings=64,
            num_experts=5, num_experts_per_tok=2, mlp_layer_types=["dense", "sparse", "sparse"], sliding_window=3,
            layer_types=["sliding_attention", "sliding_attention", "full_attention"], logit_scale=0.25)


def test_tiny_cohere2_moe_matches_forward_pass(tmp_path):
    """Shared experts are summed here: check_moe adds a shared expert to the routed sum ("average" halves both)."""
    hf, model = build("cohere2_moe", tmp_path, **TINY, num_shared_experts=1, shared_expert_combination_strategy="sum")
    c = model.cfg
    assert model.arch == "cohere2_moe" and model.has_heads and c.parallel_residual and c.norm == "layernorm"
    assert (c.n_experts, c.n_experts_per_token, c.d_expert, c.n_shared_experts, c.moe_layers) == (5, 2, 40, 1, (1, 2))
    assert (c.sliding_window, c.sliding_layers) == (3, (0, 1))
    assert model.weight("blocks.0.mlp.W_in").shape == (64, 56) and model.weight("blocks.1.mlp.shared.W_in").shape == (64, 40)
    check_forward(hf, model, Spec(**{**SPEC.__dict__, "window": 3, "window_layers": (0, 1)}))
    assert check_moe(hf, model, L + "mlp") == 2
    check_ends(hf, model, logit_scale=0.25)
    assert_all_accounted(model)
