from adapters import open_model
from tests.adapters.harness import assert_all_accounted, build, check_forward
from tests.adapters.harness_moe import check_moe
from tests.adapters.test_qwen_moe import L, SPEC

TINY = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
            intermediate_size=56, moe_intermediate_size=40, vocab_size=101, max_position_embeddings=64,
            n_routed_experts=4, num_experts_per_tok=2, n_shared_experts=1, first_k_dense_replace=1,
            n_group=2, topk_group=1)


def test_tiny_glm4_moe_matches_forward_pass(tmp_path):
    hf, model = build("glm4_moe", tmp_path, **TINY, use_qk_norm=True, attention_bias=True)
    c = model.cfg
    assert model.arch == "glm4_moe" and model.has_heads and (c.rotary_dim, c.qk_norm) == (8, "head")
    assert (c.n_experts, c.d_expert, c.n_shared_experts, c.moe_layers) == (4, 40, 1, (1, 2))
    assert model.weight("blocks.1.mlp.router_select_bias").shape == (4,)
    check_forward(hf, model, SPEC)
    assert check_moe(hf, model, L + "mlp") == 2
    assert_all_accounted(model)


def test_glm4_moe_without_config_is_read_by_layout(tmp_path):
    build("glm4_moe", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path), n_heads=4)
    assert model.arch == "glm4_moe" and model.cfg.moe_layers == (1, 2) and model.cfg.d_expert == 40
    assert_all_accounted(model)
