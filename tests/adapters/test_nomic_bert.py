"""Nomic BERT, Jina Embeddings v3 and GTE (families/nomic_bert.py): post-norm rotary encoders with q, k, v fused,
against the forward pass (zero positions make rotary the identity). transformers splits the fused tensors into
q_proj/k_proj/v_proj as it loads, so the hooks sit on its own module names."""
import pytest

from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward

TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96, vocab_size=101,
            max_position_embeddings=64)
L = "layers.{l}."
SPEC = Spec(attn=L + "self_attn", mlp=L + "mlp", causal=False, zero_positions=True,
            norms={"blocks.{l}.ln1.w": L + "post_attention_layernorm", "blocks.{l}.ln2.w": L + "post_mlp_layernorm",
                   "embed.ln.w": "embeddings.LayerNorm"})


@pytest.mark.parametrize("model_type, gated", [("nomic_bert", True), ("jina_embeddings_v3", False), ("gte", True)])
def test_tiny_model_matches_forward_pass(model_type, gated, tmp_path):
    hf, model = build(model_type, tmp_path, causal_lm=False, **TINY)
    c = model.cfg
    assert model.arch == model_type and model.has_heads
    assert (c.n_heads, c.d_head, c.d_mlp, c.gated_mlp, c.norm_position) == (4, 16, 96, gated, "post")
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)


@pytest.mark.parametrize("model_type", ["nomic_bert", "jina_embeddings_v3", "gte"])
def test_without_config_is_detected_by_layout(model_type, tmp_path):
    from adapters import open_model
    build(model_type, tmp_path, causal_lm=False, **TINY)
    lone = tmp_path / "lone" / "weights.safetensors"
    lone.parent.mkdir()
    lone.write_bytes((tmp_path / "model.safetensors").read_bytes())
    model = open_model(str(lone), n_heads=4)
    assert model.arch == model_type and model.cfg.d_mlp == 96 and model.has_heads
    assert_all_accounted(model)
