import numpy as np
import pytest

from adapters import open_model
from tests.adapters.harness import assert_all_accounted, build, check_ends
from tests.adapters.harness_mla import check_mla
from tests.adapters.harness_moe import check_moe

L = "model.layers.{l}."
# Queries and keys 12 + 8 = 20 wide, values 10: every MLA size differs, so a swapped axis shows.
TINY = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=4,
            intermediate_size=56, moe_intermediate_size=40, vocab_size=101, max_position_embeddings=64,
            n_routed_experts=4, num_experts_per_tok=2, n_shared_experts=2, first_k_dense_replace=1,
            q_lora_rank=24, kv_lora_rank=20, qk_nope_head_dim=12, qk_rope_head_dim=8, v_head_dim=10)
GROUPS = dict(n_group=2, topk_group=1)


def _sizes(c):
    return (c.n_heads, c.d_head, c.d_head_v, c.d_head_rope, c.rotary_dim, c.q_lora_rank, c.kv_lora_rank)


def test_tiny_deepseek_v2_matches_forward_pass(tmp_path):
    hf, model = build("deepseek_v2", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "deepseek_v2" and model.has_heads
    assert _sizes(c) == (4, 20, 10, 8, 8, 24, 20)
    assert (c.n_experts, c.n_experts_per_token, c.d_expert, c.n_shared_experts, c.moe_layers) == (4, 2, 40, 2, (1, 2))
    assert model.weight("blocks.1.attn.W_Q_b").shape == (4, 24, 20)
    assert model.weight("blocks.1.attn.W_K_b").shape == (4, 20, 12)
    assert model.weight("blocks.1.attn.W_V_b").shape == (4, 20, 10)
    assert model.weight("blocks.1.attn.W_KV_a").shape == (64, 20)
    assert model.weight("blocks.1.attn.W_K_rope").shape == (64, 8)
    assert model.weight("blocks.0.attn.W_O").shape == (4, 10, 64)
    assert model.weight("blocks.2.mlp.shared.W_in").shape == (64, 80)
    assert model.layers("mlp.W_in") == [0] and not model.has("blocks.1.mlp.router_select_bias")
    check_mla(hf, model)
    assert check_moe(hf, model, L + "mlp") == 2
    check_ends(hf, model)
    assert_all_accounted(model)


def test_tiny_deepseek_v3_matches_forward_pass(tmp_path):
    hf, model = build("deepseek_v3", tmp_path, **TINY, **GROUPS)
    c = model.cfg
    assert model.arch == "deepseek_v3" and _sizes(c) == (4, 20, 10, 8, 8, 24, 20)
    assert model.weight("blocks.1.mlp.router_select_bias").shape == (4,)
    bias = hf.model.layers[1].mlp.gate.e_score_correction_bias.numpy()
    np.testing.assert_array_equal(model.weight("blocks.1.mlp.router_select_bias"), bias)
    check_mla(hf, model)
    assert check_moe(hf, model, L + "mlp") == 2
    assert_all_accounted(model)


def test_deepseek_without_query_latent(tmp_path):
    """DeepSeek-V2-Lite: no q_lora_rank, so queries are one full q_proj and W_Q is exact."""
    hf, model = build("deepseek_v2", tmp_path, **{**TINY, "q_lora_rank": None})
    assert model.cfg.q_lora_rank is None and not model.has("blocks.0.attn.W_Q_b")
    assert model.weight("blocks.0.attn.W_Q").shape == (4, 64, 20)
    check_mla(hf, model)
    assert_all_accounted(model)


def test_yarn_mscale_scales_every_score(tmp_path):
    rope = {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "original_max_position_embeddings": 16,
            "mscale": 1.0, "mscale_all_dim": 1.0}
    hf, model = build("deepseek_v3", tmp_path, **TINY, **GROUPS, rope_parameters=rope)
    assert model.cfg.attn_scale == pytest.approx(hf.model.layers[0].self_attn.scaling)
    check_mla(hf, model)


@pytest.mark.parametrize("model_type, extra", [("deepseek_v2", {}), ("deepseek_v3", GROUPS),
                                               ("deepseek_v32", GROUPS)])
def test_without_config_the_layout_picks_the_family_and_its_sizes(tmp_path, model_type, extra):
    build(model_type, tmp_path, **TINY, **extra)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path))  # every MLA size, the head count too, follows from the shapes
    assert model.arch == model_type and model.has_heads
    assert _sizes(model.cfg) == (4, 20, 10, 8, 8, 24, 20)
    assert (model.cfg.n_experts, model.cfg.d_expert, model.cfg.n_shared_experts) == (4, 40, 2)
    assert model.cfg.moe_layers == (1, 2)
    assert_all_accounted(model)


def test_deepseek_v32_and_glm4_moe_lite(tmp_path):
    hf, model = build("deepseek_v32", tmp_path / "v32", **TINY, **GROUPS)
    assert model.arch == "deepseek_v32" and any("indexer" in n for n in model.ignored)
    assert_all_accounted(model)
    hf, model = build("glm4_moe_lite", tmp_path / "glm", **TINY, **GROUPS)
    assert model.arch == "glm4_moe_lite"
    check_mla(hf, model)
    assert check_moe(hf, model, L + "mlp") == 2
    assert_all_accounted(model)
