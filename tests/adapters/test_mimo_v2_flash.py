from dataclasses import replace

import numpy as np

from adapters import open_model
from tests.adapters.harness import assert_all_accounted, build, check_ends, check_forward
from tests.adapters.harness_moe import check_moe
from tests.adapters.test_qwen_moe import L, SPEC

# one full-attention layer (2 kv heads), two sliding-window ones (4 kv heads, sinks); values 24 wide, q/k 16
TINY = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
            v_head_dim=24, intermediate_size=56, moe_intermediate_size=40, vocab_size=101,
            max_position_embeddings=64, n_routed_experts=4, num_experts_per_tok=2, n_group=2, topk_group=1,
            layer_types=["full_attention", "sliding_attention", "sliding_attention"],
            mlp_layer_types=["dense", "sparse", "sparse"], sliding_window=4, attention_value_scale=0.6)
WINDOWED = replace(SPEC, sinks=True, window=4, window_layers=(1, 2))


def test_tiny_mimo_v2_flash_matches_forward_pass(tmp_path):
    hf, model = build("mimo_v2_flash", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "mimo_v2_flash" and model.has_heads
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.d_head_v, c.value_scale) == (4, 4, 16, 24, 0.6)
    assert (c.sliding_window, c.sliding_layers, c.attn_sinks, c.moe_layers, c.d_expert) == (4, (1, 2), True, (1, 2), 40)
    assert model.weight("blocks.0.attn.W_V").shape == (4, 64, 24) and model.weight("blocks.2.attn.W_O").shape == (4, 24, 64)
    k = model.weight("blocks.0.attn.W_K")  # the full layer's two stored heads, each shown twice
    np.testing.assert_array_equal(k[0], k[1])
    np.testing.assert_array_equal(k[2], k[3])
    assert model.layers("attn.sinks") == [1, 2] and any(n.kind == "layout" for n in c.notes)
    check_forward(hf, model, WINDOWED)
    assert check_moe(hf, model, L + "mlp") == 2
    check_ends(hf, model)
    assert_all_accounted(model)


def test_mimo_v2_flash_without_config_is_read_by_layout(tmp_path):
    build("mimo_v2_flash", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path))  # the sink's length is n_heads
    c = model.cfg
    assert model.arch == "mimo_v2_flash" and model.has_heads
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.d_head_v, c.moe_layers, c.sliding_layers) == (4, 4, 16, 24, (1, 2), (1, 2))
    assert_all_accounted(model)
