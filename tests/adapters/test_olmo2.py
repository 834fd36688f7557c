import numpy as np

from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.test_llama import TINY

L = "model.layers.{l}."
NORMS = {"blocks.{l}.ln1_post.w": L + "post_attention_layernorm",
         "blocks.{l}.ln2_post.w": L + "post_feedforward_layernorm", "ln_final.w": "model.norm"}
# no norm before either sublayer: attention and the MLP read the residual stream itself
SPEC = Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True, norms=NORMS)


def test_tiny_olmo2_matches_forward_pass(tmp_path):
    hf, model = build("olmo2", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "olmo2" and model.has_heads
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.norm_position, c.qk_norm) == (4, 2, 16, "output", "projection")
    assert not model.has("blocks.0.ln1.w") and not model.has("blocks.0.ln2.w")
    # q_norm is one RMSNorm over all 64 query dims, split per head like W_Q
    q_norm = hf.model.layers[1].self_attn.q_norm.weight.detach().numpy()
    np.testing.assert_array_equal(model.weight("blocks.1.attn.q_norm.w"), q_norm.reshape(4, 16))
    assert model.weight("blocks.1.attn.k_norm.w").shape == (2, 16)
    check_forward(hf, model, SPEC)
    check_ends(hf, model)
    assert_all_accounted(model)


def test_olmo3_sliding_window_layers(tmp_path):
    """OLMo3 stores OLMo2's tensors; its sliding layers (here one in two) attend to a window of
    the last tokens."""
    layer_types = ["sliding_attention", "full_attention"]
    hf, model = build("olmo3", tmp_path, sliding_window=3, layer_types=layer_types, **TINY)
    assert model.arch == "olmo2"
    assert (model.cfg.sliding_window, model.cfg.sliding_layers) == (3, (0,))
    check_forward(hf, model, Spec(**{**SPEC.__dict__, "window": 3, "window_layers": (0,)}))
    assert_all_accounted(model)


def test_single_file_without_config_is_detected_by_layout(tmp_path):
    from adapters import open_model
    build("olmo2", tmp_path, **TINY)
    lone = tmp_path / "lone" / "weights.safetensors"
    lone.parent.mkdir()
    lone.write_bytes((tmp_path / "model.safetensors").read_bytes())
    model = open_model(str(lone), n_heads=4)
    assert model.arch == "olmo2" and model.cfg.n_kv_heads == 2
    assert_all_accounted(model)
