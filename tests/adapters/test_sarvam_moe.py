import numpy as np

from adapters import open_model
from tests.adapters.harness import assert_all_accounted, build, check_ends, check_forward
from tests.adapters.harness_moe import check_moe
from tests.adapters.test_glm4_moe import TINY
from tests.adapters.test_qwen_moe import L, SPEC  # transformers loads it as GLM-4-MoE: the modules are Llama's


def test_tiny_sarvam_moe_matches_forward_pass(tmp_path):
    hf, model = build("sarvam_moe", tmp_path, **TINY, attention_bias=True)
    c = model.cfg
    assert model.arch == "sarvam_moe" and model.has_heads
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.rotary_dim, c.qk_norm) == (4, 2, 16, 16, "head")
    assert (c.n_experts, c.d_expert, c.n_shared_experts, c.moe_layers) == (4, 40, 1, (1, 2))
    bias = hf.model.layers[1].mlp.gate.e_score_correction_bias.numpy()
    np.testing.assert_array_equal(model.weight("blocks.1.mlp.router_select_bias"), bias)
    check_forward(hf, model, SPEC)
    assert check_moe(hf, model, L + "mlp") == 2
    check_ends(hf, model)
    assert_all_accounted(model)


def test_sarvam_moe_without_config_is_read_by_layout(tmp_path):
    build("sarvam_moe", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path))  # d_head is the q/k norm's length, so the head count follows too
    c = model.cfg
    assert model.arch == "sarvam_moe" and model.has_heads
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.rotary_dim, c.moe_layers, c.d_expert) == (4, 2, 16, 16, (1, 2), 40)
    assert c.n_shared_experts == 1
    assert_all_accounted(model)
