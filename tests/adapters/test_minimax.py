from tests.adapters.harness import assert_all_accounted, build, check_ends, check_forward
from tests.adapters.harness_moe import check_moe
from tests.adapters.test_mixtral import SPEC, TINY

L = "model.layers.{l}."


def test_tiny_minimax_matches_forward_pass(tmp_path):
    """Softmax attention in layers 0 and 2, lightning attention in 1 and 3 (listed as ignored); experts in all."""
    hf, model = build("minimax", tmp_path, **{**TINY, "num_hidden_layers": 4},
                      layer_types=["full_attention", "linear_attention"] * 2, block_size=4)
    c = model.cfg
    assert model.arch == "minimax" and model.has_heads and c.n_layers == 4
    assert model.layers("attn.W_Q") == [0, 2] and model.layers("mlp.W_router") == [0, 1, 2, 3]
    assert (c.n_experts, c.n_experts_per_token, c.d_expert, c.moe_layers) == (5, 2, 48, None)
    assert any("lightning" in n.text and "[1, 3]" in n.text for n in c.notes)
    check_forward(hf, model, SPEC)  # softmax layers' attention; every norm
    assert check_moe(hf, model, L + "mlp") == 4
    check_ends(hf, model)
    assert_all_accounted(model)
