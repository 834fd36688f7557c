import numpy as np

from adapters import open_model
from tests.adapters.harness import assert_all_accounted, build, check_ends, check_forward
from tests.adapters.harness_moe import check_moe
from tests.adapters.test_qwen_moe import L, SPEC

# three layers, the first dense (moe_layer_start_index), two shared experts fused
TINY = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, intermediate_size=56,
            moe_intermediate_size=24, vocab_size=101, max_position_embeddings=64, moe_num_experts=5, moe_k=2,
            moe_num_shared_experts=2, moe_layer_start_index=1, moe_layer_end_index=2)


def test_tiny_ernie4_5_moe_matches_forward_pass(tmp_path):
    hf, model = build("ernie4_5_moe", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "ernie4_5_moe" and model.has_heads and not [n for n in c.notes if n.kind == "read-as"]
    assert (c.n_experts, c.n_experts_per_token, c.d_expert, c.n_shared_experts, c.moe_layers) == (5, 2, 24, 2, (1, 2))
    assert model.weight("blocks.1.mlp.router_select_bias").shape == (5,)
    np.testing.assert_array_equal(model.weight("blocks.2.mlp.router_select_bias"),
                                  hf.model.layers[2].mlp.gate.moe_statics.e_score_correction_bias[0].detach().numpy())
    assert model.weight("blocks.1.mlp.shared.W_in").shape == (64, 48)
    check_forward(hf, model, SPEC)  # attention everywhere; layer 0's dense MLP
    assert check_moe(hf, model, L + "mlp") == 2  # router logits, each expert, the block with its shared experts
    check_ends(hf, model)
    assert_all_accounted(model)


def test_ernie4_5_moe_without_config_is_read_by_layout(tmp_path):
    build("ernie4_5_moe", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path), n_heads=4)
    assert model.arch == "ernie4_5_moe" and model.cfg.moe_layers == (1, 2) and model.cfg.d_expert == 24
    assert_all_accounted(model)
