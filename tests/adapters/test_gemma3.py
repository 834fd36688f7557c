import numpy as np

from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.test_gemma import NORMS2, TINY

L = "model.layers.{l}."
LAYER_TYPES = ["sliding_attention", "full_attention"]


def test_tiny_gemma3_matches_forward_pass(tmp_path):
    hf, model = build("gemma3_text", tmp_path, query_pre_attn_scalar=20, sliding_window=3, layer_types=LAYER_TYPES,
                      final_logit_softcapping=3.0, **TINY)
    c = model.cfg
    assert model.arch == "gemma3" and model.has_heads
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.norm_position, c.qk_norm) == (4, 2, 32, "sandwich", "head")
    assert (c.sliding_window, c.sliding_layers, c.attn_softcap, c.logit_softcap) == (3, (0,), None, 3.0)
    assert c.attn_scale == 20 ** -0.5 and c.embed_scale == 8.0 and c.rotary_base == 1_000_000.0
    # per-head q/k norms store scale - 1, like every Gemma norm
    np.testing.assert_allclose(model.weight("blocks.1.attn.q_norm.w"),
                               1 + hf.model.layers[1].self_attn.q_norm.weight.detach().numpy())
    assert model.weight("blocks.1.attn.k_norm.w").shape == (32,)
    spec = Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True, norms=NORMS2,
                scale=hf.config.query_pre_attn_scalar ** -0.5, window=3, window_layers=(0,))
    check_forward(hf, model, spec)
    check_ends(hf, model, embed_scale=64 ** 0.5, softcap=3.0)
    assert_all_accounted(model)


def test_without_config_gemma3_is_told_from_gemma2_and_qwen3(tmp_path):
    from adapters import open_model
    build("gemma3_text", tmp_path, **TINY)
    lone = tmp_path / "lone" / "weights.safetensors"
    lone.parent.mkdir()
    lone.write_bytes((tmp_path / "model.safetensors").read_bytes())
    model = open_model(str(lone), n_heads=4)
    assert model.arch == "gemma3" and (model.cfg.n_kv_heads, model.cfg.d_head) == (2, 32)
    assert_all_accounted(model)
