import math
from dataclasses import replace

import numpy as np

from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.harness_moe import check_moe

L = "model.layers.{l}."
# A window of 3 tokens bites in a sequence of 7; a GLU limit of 0.05 clamps most gate and up values.
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
            intermediate_size=40, vocab_size=101, max_position_embeddings=64, num_local_experts=5,
            num_experts_per_tok=2, sliding_window=3, layer_types=["sliding_attention", "full_attention"],
            swiglu_limit=0.05, rope_parameters={"rope_type": "default", "rope_theta": 150000.0})
SPEC = Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True, sinks=True, window=3, window_layers=(0,),
            norms={"blocks.{l}.ln1.w": L + "input_layernorm", "blocks.{l}.ln2.w": L + "post_attention_layernorm"})


def test_tiny_gpt_oss_matches_forward_pass(tmp_path):
    hf, model = build("gpt_oss", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "gpt_oss" and model.has_heads and c.attn_sinks
    assert (c.n_experts, c.n_experts_per_token, c.d_expert, c.moe_layers) == (5, 2, 40, None)
    assert (c.sliding_window, c.sliding_layers, c.glu_limit, c.attn_scale) == (3, (0,), 0.05, None)
    assert model.weight("blocks.0.attn.sinks").shape == (4,)
    assert model.weight("blocks.1.mlp.experts.W_gate").shape == (5, 64, 40)
    assert model.weight("blocks.1.mlp.experts.b_in", expert=4).shape == (40,)
    fused = hf.model.layers[1].mlp.experts.gate_up_proj.detach().numpy()  # interleaved: gate even, up odd
    np.testing.assert_allclose(model.weight("blocks.1.mlp.experts.W_in", expert=2), fused[2][:, 1::2], atol=1e-6)
    check_forward(hf, model, SPEC)
    assert check_moe(hf, model, L + "mlp", router="router", glu="gpt_oss", limit=0.05) == 2
    check_ends(hf, model)
    assert_all_accounted(model)


def test_sinks_matter_to_the_pattern(tmp_path):
    """The harness's sink term is not idle: without it the pattern check fails."""
    import pytest
    hf, model = build("gpt_oss", tmp_path, **TINY)
    with pytest.raises(AssertionError, match="attention pattern"):
        check_forward(hf, model, replace(SPEC, sinks=False))


def test_yarn_scales_every_score(tmp_path):
    """gpt-oss's YaRN scales rotary's cos and sin (all of q and k rotate): scores by the factor's square."""
    hf, model = build("gpt_oss", tmp_path, **{**TINY, "rope_parameters": {
        "rope_type": "yarn", "rope_theta": 150000.0, "factor": 32.0, "original_max_position_embeddings": 4096}})
    yarn = hf.model.rotary_emb.attention_scaling
    assert yarn != 1.0 and math.isclose(model.cfg.attn_scale, yarn ** 2 / math.sqrt(16))
    assert any(n.kind == "maths" and "YaRN" in n.text for n in model.cfg.notes)


def test_gpt_oss_without_config_is_read_by_layout(tmp_path):
    build("gpt_oss", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path), n_heads=4)
    assert model.arch == "gpt_oss" and model.cfg.attn_sinks and model.cfg.n_experts == 5
    assert model.cfg.d_expert == 40 and model.weight("blocks.0.attn.W_K").shape == (2, 64, 16)
    assert_all_accounted(model)
